package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/benchmarks/internal/fw"
	"github.com/courier-rpc/courier/benchmarks/pb"
	"google.golang.org/protobuf/proto"
)

// The headers of an HTTP invoke request and answer, as rpcx's HTTP gateway
// names them.
const (
	hdrMessageID     = "X-RPCX-MessageID"
	hdrMessageType   = "X-RPCX-MessageType"
	hdrSerializeType = "X-RPCX-SerializeType"
	hdrServicePath   = "X-RPCX-ServicePath"
	hdrServiceMethod = "X-RPCX-ServiceMethod"
	hdrStatusType    = "X-RPCX-MessageStatusType"
	hdrErrorMessage  = "X-RPCX-ErrorMessage"

	serializeProtobuf = "2" // rpcx's protocol.ProtoBuffer
	messageRequest    = "0" // rpcx's protocol.Request
)

// probeWait bounds the read that checks an idle connection is still open:
// a closed one answers at once (EOF or reset), an open one times out.
const probeWait = 2 * time.Millisecond

// RunIdleHTTP performs one idle HTTP keep-alive run, shaped like RunIdle:
// each of cfg.N plain TCP connections to the RPC port makes one HTTP invoke
// call (an HTTP/1.1 POST with the X-RPCX-* headers rpcx's gateway reads and
// the protobuf-encoded argument as body) and then stays open, idle, as a
// keep-alive connection. A call counts only when the answer is 200, carries
// no rpcx error (X-RPCX-MessageStatusType: Error, which rpcx sends with a
// 200), does not end the connection (Connection: close), and its body is the
// expected reply. After the server's memory is read, every connection is
// probed with a short read: one the server closed (or that holds unexpected
// bytes) is counted in IdleClosed and in Errors. The framework must answer
// HTTP invoke (fw.Framework.HTTPInvoke). The Result is returned with an
// error when a call failed or a connection did not stay open.
func RunIdleHTTP(cfg IdleConfig) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	f, err := fw.Get(cfg.Framework)
	if err != nil {
		return Result{}, err
	}
	if !f.HTTPInvoke {
		return Result{}, fmt.Errorf("%w: %s does not answer HTTP invoke on its RPC port", ErrBadConfig, cfg.Framework)
	}
	inv, err := newInvoker(cfg.Addr)
	if err != nil {
		return Result{}, err
	}
	// A first connection and call, so that lazily built server state (the
	// HTTP server, service maps, pools) is not charged to the idle ones.
	first, err := inv.open(0)
	if err != nil {
		return Result{}, fmt.Errorf("first HTTP invoke: %w", err)
	}
	defer first.Close()
	m, err := measureIdle(cfg, func(i int) (net.Conn, error) { return inv.open(uint64(i) + 1) })
	open := append([]net.Conn{first}, m.open...)
	defer closeConns(open)
	if err != nil {
		return Result{}, err
	}
	closed := countClosed(open, cfg.Dialers)

	ok, firstErr := m.ok, m.firstErr
	res := m.result(cfg, "idlehttp")
	res.IdleClosed = closed
	res.Errors += uint64(closed)
	switch {
	case ok < cfg.N:
		return res, fmt.Errorf("idlehttp: %d of %d HTTP invoke calls did not complete (first error: %v)", cfg.N-ok, cfg.N, firstErr)
	case closed > 0:
		if res.FirstError == "" {
			res.FirstError = fmt.Sprintf("%d connections closed by the server while idle", closed)
		}
		return res, fmt.Errorf("idlehttp: %d of %d keep-alive connections did not stay open and idle", closed, len(open))
	}
	return res, nil
}

// invoker makes the HTTP invoke call of the benchmark method.
type invoker struct {
	addr    string
	body    []byte               // the encoded argument
	want    *pb.BenchmarkMessage // the reply the server must send
	timeout time.Duration        // bound on dialing and on one call
}

func newInvoker(addr string) (*invoker, error) {
	args := pb.NewArgs(0)
	body, err := proto.Marshal(args)
	if err != nil {
		return nil, err
	}
	want := new(pb.BenchmarkMessage)
	pb.Echo(args, want)
	return &invoker{addr: addr, body: body, want: want, timeout: 30 * time.Second}, nil
}

// open dials a connection, makes one call with message ID id on it and
// returns it, idle with no deadline. On failure the connection is closed.
func (inv *invoker) open(id uint64) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", inv.addr, inv.timeout)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(inv.timeout))
	if err := inv.call(nc, id); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, nil
}

// call sends one HTTP invoke request on nc and checks the answer.
func (inv *invoker) call(nc net.Conn, id uint64) error {
	req, err := http.NewRequest(http.MethodPost, "http://"+inv.addr+"/", bytes.NewReader(inv.body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", "application/octet-stream")
	h.Set(hdrMessageID, strconv.FormatUint(id, 10))
	h.Set(hdrMessageType, messageRequest)
	h.Set(hdrSerializeType, serializeProtobuf)
	h.Set(hdrServicePath, fw.Service)
	h.Set(hdrServiceMethod, fw.Method)
	if err := req.Write(nc); err != nil {
		return fmt.Errorf("HTTP invoke: write: %w", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("HTTP invoke: read: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("HTTP invoke: read body: %w", err)
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("HTTP invoke: %s (%s)", resp.Status, resp.Header.Get(hdrErrorMessage))
	case resp.Header.Get(hdrStatusType) == "Error":
		return fmt.Errorf("HTTP invoke: rpcx error with status %d: %s", resp.StatusCode, resp.Header.Get(hdrErrorMessage))
	case resp.Close:
		return errors.New("HTTP invoke: the server ends the connection (Connection: close)")
	case br.Buffered() > 0:
		return fmt.Errorf("HTTP invoke: %d unexpected bytes after the answer", br.Buffered())
	}
	got := new(pb.BenchmarkMessage)
	if err := proto.Unmarshal(body, got); err != nil {
		return fmt.Errorf("HTTP invoke: reply: %w", err)
	}
	if !proto.Equal(got, inv.want) {
		return errors.New("HTTP invoke: the reply is not the echo of the argument")
	}
	return nil
}

// countClosed probes every connection with workers goroutines and returns
// how many are no longer open and idle.
func countClosed(conns []net.Conn, workers int) int {
	var next, closed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) {
					return
				}
				if !stillOpen(conns[i]) {
					closed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(closed.Load())
}

// stillOpen reports whether nc is open with nothing to read: a read with a
// short deadline must time out (a closed connection answers EOF or a reset
// at once; a byte read means the connection was not idle).
func stillOpen(nc net.Conn) bool {
	_ = nc.SetReadDeadline(time.Now().Add(probeWait))
	var b [1]byte
	n, err := nc.Read(b[:])
	_ = nc.SetReadDeadline(time.Time{})
	return n == 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

func closeConns(conns []net.Conn) {
	for _, nc := range conns {
		_ = nc.Close()
	}
}
