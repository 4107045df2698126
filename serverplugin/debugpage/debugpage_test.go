package debugpage

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	testutils "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/_testutils/leakcheck"
	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/health"
	"github.com/courier-rpc/courier/server"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestPage(t *testing.T) {
	s := server.NewServer()
	if err := s.RegisterName("Arith", new(testutils.Arith), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := health.Register(s); err != nil {
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
	opt := client.DefaultOption
	opt.HealthCheck.Enabled = true
	opt.GenBreaker = func() client.Breaker { return client.NewConsecCircuitBreaker(5, time.Second) }
	xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, opt)
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
	var snap Snapshot
	deadline := time.Now().Add(10 * time.Second)
	for { // until the client's health check has answered and watches again
		snap = getJSON(t, hc, "http://"+addr+Path+"?format=json")
		if st := snap.Clients[0].State; st != nil && len(st.Servers) == 1 && st.Servers[0].Health != nil && st.Servers[0].Health.Status == health.Serving && st.Servers[0].InFlight == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health state in %+v", snap.Clients[0].State)
		}
		time.Sleep(10 * time.Millisecond)
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
	st := snap.Clients[0].State
	if sv := st.Servers[0]; st.ServicePath != "Arith" || !st.HealthCheck || sv.Key != "tcp@"+addr || !sv.Selectable ||
		sv.Conn != "connected" || sv.Breaker != "closed" || sv.InFlight != 1 || sv.Ejected { // in flight: the health Watch
		t.Fatalf("client state %+v, server %+v", st, sv)
	}
	res, err := hc.Get("http://" + addr + Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "<h2>Server tcp@"+addr) || !strings.Contains(string(body), "Client Arith") ||
		!strings.Contains(string(body), "<td>tcp@"+addr+"</td><td>yes</td><td>SERVING</td><td>no</td><td>closed</td><td>connected</td>") {
		t.Fatalf("HTML page:\n%s", body)
	}
}

func getJSON(t *testing.T, hc *http.Client, url string) Snapshot {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var snap Snapshot
	if err := json.NewDecoder(res.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	return snap
}
