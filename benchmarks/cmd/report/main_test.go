package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/courier-rpc/courier/benchmarks/internal/load"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRatioPairsByRep(t *testing.T) {
	a := group{1: {RPS: 200}, 2: {RPS: 90}, 3: {RPS: 300}}
	b := group{1: {RPS: 100}, 2: {RPS: 100}} // rep 3 has no partner
	got, ok := ratio(a, b, rps)
	if !ok || got != (2.0+0.9)/2 {
		t.Fatalf("ratio = %v %v, want 1.45", got, ok)
	}
	if _, ok := ratio(a, group{}, rps); ok {
		t.Fatal("ratio without partners must report !ok")
	}
}

func TestWriteTablesAndTargets(t *testing.T) {
	var rs []load.Result
	for rep := 1; rep <= 3; rep++ {
		rs = append(rs,
			load.Result{Framework: "rpcx", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 10000, P99: 1000, ClientCPU: 30, ServerCPU: 40, ClientAllocs: 60, ServerAllocs: 70},
			load.Result{Framework: "courier", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 25000, P99: 400, ClientCPU: 10, ServerCPU: 15, ClientAllocs: 50, ServerAllocs: 55},
			load.Result{Framework: "grpc", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 5000, P99: 2000, ClientCPU: 50, ServerCPU: 50, ClientAllocs: 120, ServerAllocs: 100},
			load.Result{Framework: "courier", Label: "idle10k", Rep: rep, Mode: "idle", Idle: 10000, IdleRSSPerConn: 20 * 1024},
		)
	}
	var buf bytes.Buffer
	write(&buf, rs, 48)
	out := buf.String()
	for _, want := range []string{
		"| c100 | courier | 25000 |",
		"| c100 | courier | 2.50 | 0.40 | 0.36 |",
		"| throughput ≥ 2.0× rpcx at c=100 | 2.50× | met |",
		"| throughput ≥ 3× grpc-go at c=100 | 5.00× | met |",
		"| p99 ≤ 0.5× rpcx at c=100 | 0.40× | met |",
		"| CPU per request (client+server) ≤ 30 µs at c=100 | 25.0 µs | met |",
		"| ≤ 10 framework allocs per call, server, c=100 | 7.0 | met |",
		"| ≤ 16 KiB server memory (RSS) per idle connection | 20.0 KiB | MISS |",
		"| idle10k | courier | 10000 | 20.0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestReadSkipsNoiseAndRejectsBadJSON(t *testing.T) {
	rs, err := read(strings.NewReader("building\n{\"framework\":\"rpcx\",\"rps\":5}\n\n"))
	if err != nil || len(rs) != 1 || rs[0].RPS != 5 {
		t.Fatalf("read = %v, %v", rs, err)
	}
	if _, err := read(strings.NewReader("{not json\n")); err == nil {
		t.Fatal("bad JSON must fail")
	}
}
