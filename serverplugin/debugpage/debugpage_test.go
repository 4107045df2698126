package debugpage

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestPage(t *testing.T) {
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	<-s.Started
	addr := ln.Addr().String()
	d, _ := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer func() {
		xc.Close()
		s.Close()
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	Install(s, Client{Name: "Arith", XClient: xc, Discovery: d})
	if err := xc.Call(t.Context(), "Mul", &testutils.Args{A: 2, B: 3}, &testutils.Reply{}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := hc.Get("http://" + addr + Path + "?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	err = json.NewDecoder(res.Body).Decode(&snap)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Server == nil || !snap.Server.Ready || strings.Join(snap.Server.Services["Arith"], ",") != "Add,Div,Mul,Panic,Sleep" {
		t.Fatalf("server view %+v", snap.Server)
	}
	if len(snap.Server.Connections) < 1 || snap.Server.Stats.Requests < 1 {
		t.Fatalf("connections %v stats %+v", snap.Server.Connections, snap.Server.Stats)
	}
	if len(snap.Clients) != 1 || snap.Clients[0].Stats.Calls != 1 || snap.Clients[0].Servers[0].Key != "tcp@"+addr {
		t.Fatalf("client view %+v", snap.Clients)
	}
	res, err = hc.Get("http://" + addr + Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "<h2>Server tcp@"+addr) || !strings.Contains(string(body), "Client Arith") {
		t.Fatalf("HTML page:\n%s", body)
	}
}
