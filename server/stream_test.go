package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

func TestStreamService(t *testing.T) {
	s := server.NewServer()
	ss := server.NewStreamService("127.0.0.1:0",
		func(conn net.Conn, args *share.StreamServiceArgs) {
			// echo lines, prefixed with the stream's metadata
			r := bufio.NewReader(conn)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := io.WriteString(conn, args.Meta["prefix"]+line); err != nil {
					return
				}
			}
		},
		func(ctx context.Context, args *share.StreamServiceArgs) bool { return args.Meta["prefix"] != "" },
		10)
	s.EnableStreamService("", ss)
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	d, err := client.NewPeer2PeerDiscovery("tcp@"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	x := client.NewXClient(share.StreamServiceName, client.Failfast, client.RandomSelect, d, client.DefaultOption)
	defer x.Close()

	conn, err := x.Stream(t.Context(), map[string]string{"prefix": "> "})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, msg := range []string{"one\n", "two\n", "three\n"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != "> "+msg {
			t.Fatalf("echo %q: %q, %v", msg, got, err)
		}
	}

	if _, err := x.Stream(t.Context(), nil); share.CodeOf(err) != share.CodePermissionDenied {
		t.Fatalf("refused stream: %v (code %v)", err, share.CodeOf(err))
	}

	oc := client.NewOneClient(client.Failfast, client.RandomSelect, d, client.DefaultOption)
	defer oc.Close()
	c2, err := oc.Stream(t.Context(), map[string]string{"prefix": "#"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := io.WriteString(c2, "x\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(c2).ReadString('\n'); err != nil || got != "#x\n" {
		t.Fatalf("OneClient stream: %q, %v", got, err)
	}

	// Shutting the server down stops the stream service: open streams end.
	s.Close()
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("stream still open after the server closed")
	}
}
