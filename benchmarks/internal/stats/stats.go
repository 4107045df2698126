// Package stats measures a process's own resource use (CPU time from
// getrusage, allocations and memory from the Go runtime, resident set size
// from /proc) and serves or fetches those measurements over HTTP, so that a
// load generator can read a server process's cost over a measured window.
package stats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Snapshot is one reading of a process's counters.
type Snapshot struct {
	CPUMicros  int64  `json:"cpu_us"`      // user + system CPU time since start
	Mallocs    uint64 `json:"mallocs"`     // runtime.MemStats.Mallocs
	RSSKB      int64  `json:"rss_kb"`      // VmRSS from /proc/self/status
	HeapInuse  uint64 `json:"heap_inuse"`  // runtime.MemStats.HeapInuse
	StackInuse uint64 `json:"stack_inuse"` // runtime.MemStats.StackInuse
	Goroutines int    `json:"goroutines"`
	ReadCalls  int64  `json:"syscr"` // read syscalls since start (/proc/self/io), -1 if unknown
	WriteCalls int64  `json:"syscw"` // write syscalls since start (/proc/self/io), -1 if unknown
}

// CPU returns the user+system CPU time of this process in microseconds.
func CPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tvMicros(ru.Utime) + tvMicros(ru.Stime)
}

func tvMicros(tv syscall.Timeval) int64 { return int64(tv.Sec)*1e6 + int64(tv.Usec) }

// Take reads the counters of this process. It stops the world briefly
// (runtime.ReadMemStats).
func Take() Snapshot {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Snapshot{
		CPUMicros:  CPU(),
		Mallocs:    ms.Mallocs,
		RSSKB:      rssKB(),
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		Goroutines: runtime.NumGoroutine(),
		ReadCalls:  -1,
		WriteCalls: -1,
	}
	fillIO(&s)
	return s
}

// fillIO reads this process's read and write syscall counts.
func fillIO(s *Snapshot) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "syscr":
			s.ReadCalls = n
		case "syscw":
			s.WriteCalls = n
		}
	}
}

// rssKB returns VmRSS of this process in KiB, or -1 when /proc is missing.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// Hooks are called by the handler on /begin and /end (e.g. to start and
// stop a CPU profile). Either may be nil.
type Hooks struct {
	Begin func() error
	End   func() error
}

// Handler serves GET /stats (a Snapshot as JSON), /begin (runs h.Begin,
// then returns a Snapshot) and /end (returns a Snapshot, then runs h.End).
func Handler(h Hooks) http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, s Snapshot) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) { write(w, Take()) })
	mux.HandleFunc("/begin", func(w http.ResponseWriter, _ *http.Request) {
		if h.Begin != nil {
			if err := h.Begin(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		write(w, Take())
	})
	mux.HandleFunc("/end", func(w http.ResponseWriter, _ *http.Request) {
		s := Take()
		if h.End != nil {
			if err := h.End(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		write(w, s)
	})
	return mux
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// Fetch gets path ("stats", "begin" or "end") from the stats server at
// addr (host:port).
func Fetch(addr, path string) (Snapshot, error) {
	var s Snapshot
	resp, err := httpClient.Get("http://" + addr + "/" + path)
	if err != nil {
		return s, fmt.Errorf("server stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("server stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("server stats: %w", err)
	}
	return s, nil
}
