package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	tu "github.com/courier-rpc/courier/_testutils"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
)

// startServer serves Arith and Reflection on a loopback port.
func startServer(t *testing.T) string {
	t.Helper()
	s := server.NewServer()
	r := reflection.New()
	s.Plugins.Add(r)
	if err := s.RegisterName("Arith", new(tu.Arith), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterName("Reflection", r, ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeListener("tcp", ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return "tcp@" + ln.Addr().String()
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCallListDescribe(t *testing.T) {
	addr := startServer(t)
	out, errs, code := runCLI(t, "call", "-addr", addr, "Arith.Mul", `{"A":6,"B":7}`)
	if code != 0 || !strings.Contains(out, `"C": 42`) {
		t.Fatalf("call: code %d out %q err %q", code, out, errs)
	}
	out, errs, code = runCLI(t, "call", "-addr", addr, "Arith.Div", `{"A":1,"B":0}`)
	if code != 1 || !strings.Contains(errs, "divide by zero") {
		t.Fatalf("call error: code %d out %q err %q", code, out, errs)
	}
	out, errs, code = runCLI(t, "list", "-addr", addr)
	if code != 0 || !strings.Contains(out, "Arith.Mul") || !strings.Contains(out, "Reflection") {
		t.Fatalf("list: code %d out %q err %q", code, out, errs)
	}
	out, errs, code = runCLI(t, "describe", "-addr", addr, "Arith")
	if code != 0 || !strings.Contains(out, "Mul(Args) Reply") || !strings.Contains(out, `"properties"`) {
		t.Fatalf("describe: code %d out %q err %q", code, out, errs)
	}
}

func TestBench(t *testing.T) {
	addr := startServer(t)
	out, errs, code := runCLI(t, "bench", "-addr", addr, "-c", "8", "-conns", "2", "-n", "400", "-d", "20s", "Arith.Mul", `{"A":2,"B":3}`)
	if code != 0 || !strings.Contains(out, "calls 400  errors 0") || !strings.Contains(out, "p99") {
		t.Fatalf("bench: code %d out %q err %q", code, out, errs)
	}
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"call"},
		{"call", "-addr", "tcp@127.0.0.1:1", "NoDot"},
		{"call", "-addr", "tcp@127.0.0.1:1", "A.B", "{not json"},
		{"call", "-ser", "yaml", "A.B"},
		{"call", "-meta", "novalue", "A.B"},
		{"bench", "-c", "0", "A.B"},
	} {
		if _, _, code := runCLI(t, args...); code == 0 {
			t.Errorf("%v: exit code 0, want failure", args)
		}
	}
}
