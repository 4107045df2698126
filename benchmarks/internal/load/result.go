package load

import "fmt"

// Result is what one load-generator run measured. Latencies are in
// microseconds; per-request costs divide a delta over the measured window by
// Requests. Server fields are zero when no stats address was given.
type Result struct {
	Framework string  `json:"framework"`
	Label     string  `json:"label"` // scenario name chosen by the caller
	Rep       int     `json:"rep"`
	Mode      string  `json:"mode"` // "closed", "open", "idle" or "idlehttp"
	C         int     `json:"c"`
	Pool      int     `json:"pool"`
	Rate      float64 `json:"rate,omitempty"`
	Payload   int     `json:"payload,omitempty"`

	Seconds    float64 `json:"seconds"`
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_us"`
	P99        float64 `json:"p99_us"`
	P999       float64 `json:"p999_us"`
	Max        float64 `json:"max_us"`
	Mean       float64 `json:"mean_us"`

	ClientCPU    float64 `json:"client_cpu_us"`     // client CPU µs per request
	ServerCPU    float64 `json:"server_cpu_us"`     // server CPU µs per request
	ClientAllocs float64 `json:"client_allocs"`     // client mallocs per request
	ServerAllocs float64 `json:"server_allocs"`     // server mallocs per request
	ClientReads  float64 `json:"client_reads"`      // client read syscalls per request
	ClientWrites float64 `json:"client_writes"`     // client write syscalls per request
	ServerReads  float64 `json:"server_reads"`      // server read syscalls per request
	ServerWrites float64 `json:"server_writes"`     // server write syscalls per request
	ServerRSSKB  int64   `json:"server_rss_kb"`     // server VmRSS at the end
	ServerGorout int     `json:"server_goroutines"` // server goroutines at the end

	Idle               int     `json:"idle,omitempty"`               // idle connections held open
	IdleRSSPerConn     float64 `json:"idle_rss_per_conn,omitempty"`  // server RSS bytes per idle connection
	IdleHeapPerConn    float64 `json:"idle_heap_per_conn,omitempty"` // server heap+stack bytes per idle connection
	IdleGoroutPerConn  float64 `json:"idle_goroutines_per_conn,omitempty"`
	IdleConnectSeconds float64 `json:"idle_connect_seconds,omitempty"`
	// IdleClosed counts (idlehttp) connections found closed by the server,
	// or not idle, when probed after the server's memory was read; they are
	// also counted in Errors.
	IdleClosed int `json:"idle_closed,omitempty"`

	IdleClientRSSPerConn    float64 `json:"idle_client_rss_per_conn,omitempty"`  // client RSS bytes per idle connection
	IdleClientHeapPerConn   float64 `json:"idle_client_heap_per_conn,omitempty"` // client heap+stack bytes per idle connection
	IdleClientGoroutPerConn float64 `json:"idle_client_goroutines_per_conn,omitempty"`
}

// Summary formats r on one line for people.
func Summary(r Result) string {
	if r.Mode == "idle" || r.Mode == "idlehttp" {
		return fmt.Sprintf("%-8s %s=%d (in %.1fs) server rss/conn=%.0f B heap+stack/conn=%.0f B goroutines/conn=%.2f; client rss/conn=%.0f B heap+stack/conn=%.0f B goroutines/conn=%.2f; errors=%d %s",
			r.Framework, r.Mode, r.Idle, r.IdleConnectSeconds, r.IdleRSSPerConn, r.IdleHeapPerConn, r.IdleGoroutPerConn,
			r.IdleClientRSSPerConn, r.IdleClientHeapPerConn, r.IdleClientGoroutPerConn, r.Errors, r.FirstError)
	}
	return fmt.Sprintf("%-8s %s c=%d pool=%d: %.0f req/s p50=%.0fµs p99=%.0fµs p99.9=%.0fµs max=%.0fµs cpu/req client=%.1fµs server=%.1fµs allocs/req client=%.1f server=%.1f syscalls/req client r/w=%.2f/%.2f server r/w=%.2f/%.2f errors=%d %s",
		r.Framework, r.Mode, r.C, r.Pool, r.RPS, r.P50, r.P99, r.P999, r.Max, r.ClientCPU, r.ServerCPU, r.ClientAllocs, r.ServerAllocs, r.ClientReads, r.ClientWrites, r.ServerReads, r.ServerWrites, r.Errors, r.FirstError)
}
