package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-rpc/courier/log"
)

// Settings of the data listeners of FileTransfer and StreamService.
const (
	// tokenSize is the length of the random tokens (rpcx: 32 bytes).
	tokenSize = 32
	// tokenTTL is how long a token handed out by an RPC stays valid.
	tokenTTL = time.Minute
	// tokenReadTimeout bounds the arrival of the token on a new data
	// connection.
	tokenReadTimeout = 10 * time.Second
	// defaultWaitNum is the number of pending tokens kept when waitNum <= 0.
	defaultWaitNum = 1000
)

// errDataStopped is the error of RPCs and Start on a stopped FileTransfer
// or StreamService.
var errDataStopped = errors.New("server: data service stopped")

// tokenEntry is a token waiting for its data connection.
type tokenEntry struct {
	val     any
	expires time.Time
}

// dataServer is the listener behind FileTransfer and StreamService: the
// RPC hands out a random token, the client dials the data address and
// sends the token first, then the connection belongs to a handler.
type dataServer struct {
	kind    string // "file transfer" or "stream service", for messages
	waitNum int
	handle  func(conn net.Conn, val any) // runs the handler for a token's value
	obs     atomic.Pointer[dataObs]      // the Server's call observers, once enabled on one

	mu      sync.Mutex
	ln      net.Listener
	addr    string // listened address once started
	tokens  map[string]tokenEntry
	order   []string // token insertion order, for eviction
	conns   map[net.Conn]struct{}
	started bool
	stopped bool
	wg      sync.WaitGroup
}

func newDataServer(kind string, waitNum int, handle func(net.Conn, any)) *dataServer {
	if waitNum <= 0 {
		waitNum = defaultWaitNum
	}
	return &dataServer{kind: kind, waitNum: waitNum, handle: handle,
		tokens: make(map[string]tokenEntry), conns: make(map[net.Conn]struct{})}
}

// start listens on TCP address (once) and returns the listened address.
func (d *dataServer) start(address string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopped:
		return "", errDataStopped
	case d.started:
		return d.addr, nil
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return "", fmt.Errorf("server: %s listen on %s: %w", d.kind, address, err)
	}
	d.ln, d.addr, d.started = ln, ln.Addr().String(), true
	d.wg.Add(1)
	go d.acceptLoop(ln)
	return d.addr, nil
}

// stop closes the listener and aborts every data connection (the peer
// sees a reset, not a clean end), then waits for the handlers to return.
func (d *dataServer) stop() error {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return nil
	}
	d.stopped = true
	ln := d.ln
	conns := make([]net.Conn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.tokens, d.order = nil, nil
	d.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, c := range conns {
		abort(c)
	}
	d.wg.Wait()
	return err
}

// abort closes c so that the peer gets a reset (SO_LINGER 0 on TCP).
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// newToken stores val under a fresh random token and returns the token and
// the address to dial. The oldest tokens are evicted beyond waitNum.
func (d *dataServer) newToken(val any) ([]byte, string, error) {
	token := make([]byte, tokenSize)
	if _, err := io.ReadFull(rand.Reader, token); err != nil {
		return nil, "", fmt.Errorf("server: token: %w", err)
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || !d.started {
		return nil, "", errDataStopped
	}
	for len(d.order) > 0 && (len(d.tokens) >= d.waitNum || now.After(d.tokens[d.order[0]].expires)) {
		delete(d.tokens, d.order[0])
		d.order = d.order[1:]
	}
	d.tokens[string(token)] = tokenEntry{val: val, expires: now.Add(tokenTTL)}
	d.order = append(d.order, string(token))
	return token, d.addr, nil
}

// take removes and returns the value of a valid token.
func (d *dataServer) take(token []byte) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.tokens[string(token)]
	if !ok {
		return nil, false
	}
	delete(d.tokens, string(token)) // its order entry goes at eviction
	return e.val, time.Now().Before(e.expires)
}

func (d *dataServer) acceptLoop(ln net.Listener) {
	defer d.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			d.mu.Lock()
			stopped := d.stopped
			d.mu.Unlock()
			if stopped || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			log.Errorf("server: %s accept: %v; retrying in %v", d.kind, err, delay)
			time.Sleep(delay) // back off from a failing accept (e.g. EMFILE)
			continue
		}
		delay = 0
		if !d.track(c) {
			abort(c)
			return
		}
		d.wg.Add(1)
		go d.serve(c)
	}
}

func (d *dataServer) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return false
	}
	d.conns[c] = struct{}{}
	return true
}

// serve reads the token of c and runs its handler; the connection is
// closed when the handler returns (aborted if it panics).
func (d *dataServer) serve(c net.Conn) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.conns, c)
		d.mu.Unlock()
	}()
	token := make([]byte, tokenSize)
	_ = c.SetReadDeadline(time.Now().Add(tokenReadTimeout))
	if _, err := io.ReadFull(c, token); err != nil {
		log.Debugf("server: %s: no token from %s: %v", d.kind, c.RemoteAddr(), err)
		abort(c)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	val, ok := d.take(token)
	if !ok {
		log.Debugf("server: %s: unknown or expired token from %s", d.kind, c.RemoteAddr())
		abort(c)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			log.Errorf("server: %s handler panicked: %v", d.kind, r)
			abort(c)
			return
		}
		_ = c.Close()
	}()
	d.run(c, val)
}

// sizedConn is the connection of an upload whose size is known: reads end
// with io.EOF after size bytes, and with io.ErrUnexpectedEOF when the
// client closes the connection before sending them all.
type sizedConn struct {
	net.Conn
	left int64
}

// Read reads at most the bytes left of the upload.
func (c *sizedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	if errors.Is(err, io.EOF) && c.left > 0 {
		err = fmt.Errorf("server: upload ended %d bytes early: %w", c.left, io.ErrUnexpectedEOF)
	}
	return n, err
}
