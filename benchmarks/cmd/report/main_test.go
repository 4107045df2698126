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

func TestFloorRatiosAndTargets(t *testing.T) {
	var rs []load.Result
	for rep := 1; rep <= 3; rep++ {
		rs = append(rs,
			load.Result{Framework: "floor", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 40000, P99: 500, ClientCPU: 10, ServerCPU: 10},
			load.Result{Framework: "courier-x", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 30000, P99: 600, ClientCPU: 15, ServerCPU: 15},
			load.Result{Framework: "rpcx", Label: "c100", Rep: rep, Mode: "closed", C: 100, Pool: 10, RPS: 10000, P99: 2000, ClientCPU: 30, ServerCPU: 40},
			load.Result{Framework: "courier", Label: "idle10k", Rep: rep, Mode: "idle", Idle: 10000, IdleClientRSSPerConn: 6 * 1024, IdleClientGoroutPerConn: 1},
		)
	}
	var buf bytes.Buffer
	write(&buf, rs, 48)
	out := buf.String()
	for _, want := range []string{
		"| c100 | courier-x | 40000 | 0.75 | 1.20 | 1.50 |",
		"| courier-x throughput ≥ 85 % of the floor at c=100 | 75 % | MISS |",
		"| courier-x throughput ≈ 3.0× rpcx at c=100 | 3.00× | met |",
		"| courier-x p99 ≤ 0.4× rpcx at c=100 | 0.30× | met |",
		"| courier-x CPU per call (client+server) ≤ 1.25× the floor's at c=100 | 1.50× | MISS |",
		"| courier client: 1 goroutine per idle connection | 1.00 | met |",
		"| courier client: ≤ 8 KiB (RSS) per idle connection | 6.0 KiB | met |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestIdleHTTPTarget(t *testing.T) {
	tests := []struct {
		name     string
		courier  float64 // courier's server RSS per connection, KiB (rpcx: 22)
		errs     uint64  // errors of courier's runs
		wantRows []string
	}{
		{"below rpcx", 20, 0, []string{
			"| idle HTTP keep-alive connection: server RSS ≤ rpcx's (20.0 vs 22.0 KiB) | 0.91× | met |",
			"| idle HTTP keep-alive connection: server heap+stack ≤ rpcx's (18.0 vs 20.0 KiB) | 0.90× | met |",
			"| idlehttp | courier | 10000 | 20.0 | 18.0 |",
		}},
		{"above rpcx", 31, 0, []string{"| idle HTTP keep-alive connection: server RSS ≤ rpcx's (31.0 vs 22.0 KiB) | 1.41× | MISS |"}},
		{"errors fail it", 20, 3, []string{"| idle HTTP keep-alive connection: server RSS ≤ rpcx's (20.0 vs 22.0 KiB) | 0.91× | MISS |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []load.Result
			for rep := 1; rep <= 2; rep++ {
				rs = append(rs,
					load.Result{Framework: "courier", Label: "idlehttp", Rep: rep, Mode: "idlehttp", Idle: 10000, Errors: tt.errs,
						IdleRSSPerConn: tt.courier * 1024, IdleHeapPerConn: (tt.courier - 2) * 1024, IdleClientGoroutPerConn: 0},
					load.Result{Framework: "rpcx", Label: "idlehttp", Rep: rep, Mode: "idlehttp", Idle: 10000,
						IdleRSSPerConn: 22 * 1024, IdleHeapPerConn: 20 * 1024},
				)
			}
			var buf bytes.Buffer
			write(&buf, rs, 48)
			out := buf.String()
			for _, want := range tt.wantRows {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			// The RPC idle targets are not idlehttp's.
			for _, not := range []string{"≤ 16 KiB server memory", "courier client: 1 goroutine"} {
				if strings.Contains(out, not) {
					t.Errorf("report has %q for idlehttp:\n%s", not, out)
				}
			}
		})
	}
}

func TestABIdleTable(t *testing.T) {
	var rs []load.Result
	for rep := 1; rep <= 3; rep++ {
		rs = append(rs,
			load.Result{Framework: "courier@A", Label: "idlehttp", Rep: rep, Mode: "idlehttp", Idle: 100, IdleRSSPerConn: 20 * 1024, IdleHeapPerConn: 16 * 1024},
			load.Result{Framework: "courier@B", Label: "idlehttp", Rep: rep, Mode: "idlehttp", Idle: 100, IdleRSSPerConn: 19 * 1024, IdleHeapPerConn: 12 * 1024},
		)
	}
	var buf bytes.Buffer
	write(&buf, rs, 48)
	if want := "| idlehttp | courier | 3 | 20.00 | 19.00 | 0.950 | 16.00 | 12.00 | 0.750 | 0 |"; !strings.Contains(buf.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, buf.String())
	}
}
