package load

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/internal/stats"
	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/protobuf/proto"
)

// startServer serves framework name on a loopback port, with a stats
// endpoint, until the test ends.
func startServer(t *testing.T, name string) (addr, statsAddr string) {
	t.Helper()
	f, err := fw.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := f.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	hs := httptest.NewServer(stats.Handler(stats.Hooks{}))
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s server did not stop", name)
		}
	})
	return ln.Addr().String(), strings.TrimPrefix(hs.URL, "http://")
}

func TestRunEveryFramework(t *testing.T) {
	for _, name := range fw.Names() {
		t.Run(name, func(t *testing.T) {
			addr, st := startServer(t, name)
			tests := []struct {
				name   string
				cfg    Config
				exactN uint64
			}{
				{"closed loop bounded by n", Config{C: 4, Pool: 2, N: 300, Duration: 10 * time.Second, Warmup: 50 * time.Millisecond}, 300},
				{"open loop bounded by time", Config{C: 4, Pool: 1, Rate: 200, Duration: 500 * time.Millisecond}, 0},
				{"large payload", Config{C: 2, Pool: 2, N: 10, Duration: 10 * time.Second, Payload: 1 << 20}, 10},
				{"a deadline per call", Config{C: 4, Pool: 2, N: 100, Duration: 10 * time.Second, Deadline: 5 * time.Second}, 100},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					cfg := tt.cfg
					cfg.Framework, cfg.Addr, cfg.StatsAddr = name, addr, st
					res, err := Run(cfg)
					if err != nil {
						t.Fatal(err)
					}
					if res.Errors != 0 {
						t.Fatalf("%d errors, first: %s", res.Errors, res.FirstError)
					}
					if tt.exactN > 0 && res.Requests != tt.exactN {
						t.Fatalf("requests %d, want %d", res.Requests, tt.exactN)
					}
					if cfg.Rate > 0 {
						want := cfg.Rate * cfg.Duration.Seconds()
						if float64(res.Requests) < want*0.5 || float64(res.Requests) > want*1.2 {
							t.Fatalf("open loop made %d requests, want about %.0f", res.Requests, want)
						}
						if res.Mode != "open" {
							t.Fatalf("mode %q", res.Mode)
						}
					}
					if !(res.P50 > 0 && res.P50 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
						t.Fatalf("percentiles out of order: %s", Summary(res))
					}
					if res.RPS <= 0 || res.ServerCPU <= 0 || res.ClientAllocs <= 0 || res.ServerAllocs <= 0 {
						t.Fatalf("missing costs: %s", Summary(res))
					}
				})
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	addr, st := startServer(t, "rpcx")
	res, err := RunIdle(IdleConfig{Framework: "rpcx", Addr: addr, StatsAddr: st, N: 50, Settle: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Idle != 50 || res.Errors != 0 {
		t.Fatalf("idle %d errors %d (%s)", res.Idle, res.Errors, res.FirstError)
	}
	if res.IdleGoroutPerConn < 0.5 {
		t.Fatalf("server goroutines per conn %.2f: connections were not held open", res.IdleGoroutPerConn)
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no callers", Config{Framework: "rpcx", Pool: 1, Duration: time.Second}},
		{"no pool", Config{Framework: "rpcx", C: 1, Duration: time.Second}},
		{"unbounded", Config{Framework: "rpcx", C: 1, Pool: 1}},
		{"negative rate", Config{Framework: "rpcx", C: 1, Pool: 1, Duration: time.Second, Rate: -1}},
		{"negative deadline", Config{Framework: "rpcx", C: 1, Pool: 1, Duration: time.Second, Deadline: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(tt.cfg); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err %v, want ErrBadConfig", err)
			}
		})
	}
	if _, err := RunIdle(IdleConfig{Framework: "rpcx", N: 1}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("idle without stats: err %v, want ErrBadConfig", err)
	}
	if _, err := Run(Config{Framework: "nope", C: 1, Pool: 1, Duration: time.Second}); err == nil {
		t.Fatal("unknown framework must fail")
	}
}

func TestRunIdleHTTP(t *testing.T) {
	for _, name := range []string{"courier", "rpcx"} {
		t.Run(name, func(t *testing.T) {
			addr, st := startServer(t, name)
			res, err := RunIdleHTTP(IdleConfig{Framework: name, Addr: addr, StatsAddr: st, N: 50, Settle: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Mode != "idlehttp" || res.Idle != 50 || res.Errors != 0 || res.IdleClosed != 0 {
				t.Fatalf("mode %q idle %d errors %d closed %d (%s)", res.Mode, res.Idle, res.Errors, res.IdleClosed, res.FirstError)
			}
			if res.IdleGoroutPerConn < 0.5 {
				t.Fatalf("server goroutines per conn %.2f: connections were not held open", res.IdleGoroutPerConn)
			}
		})
	}
}

// fakeGateway answers HTTP invoke as a gateway would (the argument echoed
// by pb.Echo), misbehaving as told; it lets TestRunIdleHTTPFails check that
// RunIdleHTTP notices.
type fakeGateway struct {
	failID    string // answer this message ID with a 200 carrying an rpcx error
	close     bool   // answer with Connection: close
	wrongBody bool   // answer the argument itself, not the echo
}

func (g fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	args := new(pb.BenchmarkMessage)
	if err == nil {
		err = proto.Unmarshal(b, args)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get(hdrServicePath) != fw.Service || r.Header.Get(hdrServiceMethod) != fw.Method || r.Header.Get(hdrSerializeType) != serializeProtobuf {
		http.Error(w, "bad headers", http.StatusBadRequest)
		return
	}
	if g.failID != "" && r.Header.Get(hdrMessageID) == g.failID {
		w.Header().Set(hdrStatusType, "Error")
		w.Header().Set(hdrErrorMessage, "injected")
		return
	}
	if g.close {
		w.Header().Set("Connection", "close")
	}
	reply := args
	if !g.wrongBody {
		reply = new(pb.BenchmarkMessage)
		pb.Echo(args, reply)
	}
	out, _ := proto.Marshal(reply)
	_, _ = w.Write(out)
}

func TestRunIdleHTTPFails(t *testing.T) {
	st := httptest.NewServer(stats.Handler(stats.Hooks{}))
	defer st.Close()
	stAddr := strings.TrimPrefix(st.URL, "http://")
	tests := []struct {
		name       string
		gw         fakeGateway
		idle       time.Duration // the server's keep-alive idle timeout (0: none)
		wantIdle   int           // calls that completed (-1: the run stops at the first call)
		wantClosed int
	}{
		{"well-behaved", fakeGateway{}, 0, 20, 0},
		{"rpcx error with 200", fakeGateway{failID: "7"}, 0, 19, 0},
		{"connection close", fakeGateway{close: true}, 0, -1, 0},
		{"wrong reply", fakeGateway{wrongBody: true}, 0, -1, 0},
		{"server closes idle connections", fakeGateway{}, 20 * time.Millisecond, 20, 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tt.gw)
			srv.Config.IdleTimeout = tt.idle
			srv.Start()
			defer srv.Close()
			res, err := RunIdleHTTP(IdleConfig{Framework: "rpcx", Addr: strings.TrimPrefix(srv.URL, "http://"), StatsAddr: stAddr,
				N: 20, Dialers: 4, Settle: 200 * time.Millisecond})
			if tt.wantIdle < 0 {
				if err == nil || !strings.Contains(err.Error(), "first HTTP invoke") {
					t.Fatalf("err %v, want the first call to fail", err)
				}
				return
			}
			if res.Idle != tt.wantIdle || res.IdleClosed != tt.wantClosed {
				t.Fatalf("idle %d closed %d, want %d and %d (err %v)", res.Idle, res.IdleClosed, tt.wantIdle, tt.wantClosed, err)
			}
			wantErr := tt.wantIdle < 20 || tt.wantClosed > 0
			if (err != nil) != wantErr || (res.Errors != 0) != wantErr {
				t.Fatalf("err %v errors %d, want failure %v", err, res.Errors, wantErr)
			}
		})
	}
	if _, err := RunIdleHTTP(IdleConfig{Framework: "grpc", Addr: "127.0.0.1:1", StatsAddr: stAddr, N: 1}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("grpc: err %v, want ErrBadConfig", err)
	}
}
