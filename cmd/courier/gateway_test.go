package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGatewayCommand(t *testing.T) {
	addr := startServer(t).addr
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		g := &gatewayFlags{listen: "127.0.0.1:0", servers: addr + ",tcp@127.0.0.1:1", fail: "failover", sel: "roundrobin", timeout: 10 * time.Second}
		done <- runGateway(ctx, g, &out, func(a string) { ready <- a })
	}()
	var gw string
	select {
	case gw = <-ready:
	case err := <-done:
		t.Fatalf("gateway exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < 4; i++ { // round robin over a live and a dead server: failover hides the dead one
		req, _ := http.NewRequest(http.MethodPost, "http://"+gw+"/", strings.NewReader(`{"A":6,"B":7}`))
		req.Header.Set("X-RPCX-SerializeType", "1")
		req.Header.Set("X-RPCX-ServicePath", "Arith")
		req.Header.Set("X-RPCX-ServiceMethod", "Mul")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != `{"C":42}` {
			t.Fatalf("call %d: %d %q %s", i, res.StatusCode, body, res.Header.Get("X-RPCX-ErrorMessage"))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("gateway returned %v", err)
	}
	if !strings.Contains(out.String(), "gateway listening on") {
		t.Fatalf("output %q", out.String())
	}
}

func TestGatewayCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no servers", []string{}, "--servers is required"},
		{"bad server", []string{"-servers", "localhost:1"}, "bad server"},
		{"bad failmode", []string{"--servers", "tcp@a:1", "--failmode", "x"}, "unknown --failmode"},
		{"bad selector", []string{"-servers", "tcp@a:1", "-select", "x"}, "unknown --select"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", append([]string{"gateway"}, tt.args...)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d: %+v", r.code, r)
			}
			oneStderrLine(t, r, tt.want)
		})
	}
}
