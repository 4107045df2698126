package client

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util/memconn"
)

// testServer is a tiny courier-like server that speaks raw frames. Methods
// (service path is ignored):
//
//	Echo    reply payload = request payload
//	Sleep   echo after metadata "ms" milliseconds (cut short when the server closes)
//	Error   error response "boom", code from metadata "code", plus metadata "k"="v"
//	Meta    echo, response metadata = request metadata
//	Drain   send the drain notice first, then echo
//	Reject  answer like a draining server (error, code 14, DrainKey)
//	Kill    close the connection without answering
//	Notify  send metadata "n" notifications (payload = index), then echo
//	Big     reply with metadata "size" bytes
//	Stall   stop reading this connection (no answer)
//
// Heartbeats are echoed unless swallowHeartbeats is set. Oneway requests are
// counted in oneways and signalled on onewayCh.
type testServer struct {
	network, addr string

	ln                net.Listener
	raw               bool // answer with serveRaw (set before the first dial)
	swallowHeartbeats atomic.Bool
	heartbeats        atomic.Int64
	late              atomic.Int64 // Sleep replies written
	onewayCh          chan *protocol.Message

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

var memuSeq atomic.Int64

// startTestServer listens on network ("memu", "tcp" or "unix"), with TLS
// when cfg is set, and stops at the end of the test.
func startTestServer(t testing.TB, network string, cfg *tls.Config) *testServer {
	t.Helper()
	return startServer(t, network, cfg, false)
}

func startServer(t testing.TB, network string, cfg *tls.Config, raw bool) *testServer {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	switch network {
	case "memu":
		ln, err = memconn.Listen(fmt.Sprintf("clienttest-%d", memuSeq.Add(1)))
	case "tcp":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		dir, derr := os.MkdirTemp("", "cct")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		ln, err = net.Listen("unix", filepath.Join(dir, "s"))
	default:
		t.Fatalf("unknown network %q", network)
	}
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &testServer{
		network:  network,
		raw:      raw,
		addr:     ln.Addr().String(),
		ln:       ln,
		onewayCh: make(chan *protocol.Message, 100),
		conns:    map[net.Conn]struct{}{},
		closed:   make(chan struct{}),
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, closes its connections and waits for its goroutines.
func (s *testServer) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

func (s *testServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.closed:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		sc := &serverConn{srv: s, conn: c, done: make(chan struct{})}
		if s.raw {
			go sc.serveRaw()
		} else {
			go sc.serve()
		}
	}
}

type serverConn struct {
	srv  *testServer
	conn net.Conn
	wmu  sync.Mutex
	done chan struct{}
}

func (sc *serverConn) serve() {
	s := sc.srv
	var handlers sync.WaitGroup
	defer func() {
		sc.conn.Close()
		close(sc.done)
		handlers.Wait()
		s.mu.Lock()
		delete(s.conns, sc.conn)
		s.mu.Unlock()
		s.wg.Done()
	}()
	br := bufio.NewReader(sc.conn)
	lim := protocol.Limits{MaxMessageLength: protocol.NoLimit}.Resolve()
	for {
		req := protocol.NewMessage()
		if err := req.DecodeLimited(br, &lim); err != nil {
			return
		}
		switch {
		case req.IsHeartbeat():
			s.heartbeats.Add(1)
			if !s.swallowHeartbeats.Load() {
				sc.reply(req, req.Payload, nil)
			}
		case req.IsOneway():
			select {
			case s.onewayCh <- req:
			default:
			}
		case req.ServiceMethod == "Kill":
			return
		case req.ServiceMethod == "Stall":
			<-sc.srv.closed
			return
		default:
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				sc.handle(req)
			}()
		}
	}
}

func (sc *serverConn) handle(req *protocol.Message) {
	switch req.ServiceMethod {
	case "Echo":
		sc.reply(req, req.Payload, nil)
	case "Sleep":
		ms, _ := strconv.Atoi(req.Metadata["ms"])
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-sc.srv.closed:
			return
		case <-sc.done:
			return
		}
		sc.reply(req, req.Payload, nil)
		sc.srv.late.Add(1)
	case "Error":
		md := map[string]string{protocol.ServiceError: "boom", "k": "v"}
		if c, ok := req.Metadata["code"]; ok {
			md[share.ErrorCodeKey] = c
		}
		sc.replyError(req, md)
	case "Reject":
		sc.replyError(req, map[string]string{
			protocol.ServiceError: "server is shutting down",
			share.ErrorCodeKey:    "14",
			share.DrainKey:        "1",
		})
	case "Meta":
		sc.reply(req, req.Payload, req.Metadata)
	case "Drain":
		n := protocol.NewMessage()
		n.SetMessageType(protocol.Response)
		n.SetHeartbeat(true)
		n.SetSeq(share.DrainSeq)
		n.Metadata = map[string]string{share.DrainKey: "1"}
		sc.write(n)
		sc.reply(req, req.Payload, nil)
	case "Notify":
		count, _ := strconv.Atoi(req.Metadata["n"])
		for i := range count {
			n := protocol.NewMessage()
			n.SetMessageType(protocol.Request)
			n.SetOneway(true)
			n.ServicePath, n.ServiceMethod = "Push", "Note"
			n.Payload = []byte(strconv.Itoa(i))
			sc.write(n)
		}
		sc.reply(req, req.Payload, nil)
	case "Big":
		size, _ := strconv.Atoi(req.Metadata["size"])
		sc.reply(req, make([]byte, size), nil)
	default:
		sc.replyError(req, map[string]string{protocol.ServiceError: "unknown method " + req.ServiceMethod})
	}
}

func (sc *serverConn) reply(req *protocol.Message, payload []byte, md map[string]string) {
	res := req.Clone()
	res.SetMessageType(protocol.Response)
	res.Metadata = md
	res.Payload = payload
	sc.write(res)
}

func (sc *serverConn) replyError(req *protocol.Message, md map[string]string) {
	res := req.Clone()
	res.SetMessageType(protocol.Response)
	res.SetMessageStatusType(protocol.Error)
	res.Metadata = md
	res.Payload = nil
	sc.write(res)
}

func (sc *serverConn) write(m *protocol.Message) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	_, _ = m.WriteTo(sc.conn)
}

// testTLS returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and "localhost", and a client config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "courier test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// dialTest connects a client with opt to s and closes it at the end of the test.
func dialTest(t testing.TB, s *testServer, opt Option) *Client {
	t.Helper()
	c := NewClient(opt)
	if err := c.Connect(s.network, s.addr); err != nil {
		t.Fatalf("connect %s %s: %v", s.network, s.addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it is true or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startRawEcho starts an allocation-free echo server on network: it turns
// each request frame into its response by setting the message type bit and
// writes it back, flushing when no more input is buffered. Benchmarks and
// the allocation test use it so that only the client's allocations count.
func startRawEcho(t testing.TB, network string) *testServer {
	t.Helper()
	return startServer(t, network, nil, true)
}

func (sc *serverConn) serveRaw() {
	defer func() {
		sc.conn.Close()
		close(sc.done)
		sc.srv.mu.Lock()
		delete(sc.srv.conns, sc.conn)
		sc.srv.mu.Unlock()
		sc.srv.wg.Done()
	}()
	br := bufio.NewReaderSize(sc.conn, 64<<10)
	bw := bufio.NewWriterSize(sc.conn, 64<<10)
	frame := make([]byte, 0, 4096)
	for {
		frame = frame[:protocol.HeaderSize]
		if _, err := io.ReadFull(br, frame); err != nil {
			return
		}
		n, _ := protocol.FrameLength(frame)
		if cap(frame) < n {
			frame = append(make([]byte, 0, n), frame...)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(br, frame[protocol.HeaderSize:]); err != nil {
			return
		}
		frame[2] |= 0x80 // response
		if _, err := bw.Write(frame); err != nil {
			return
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

// ignored is a reply that accepts and drops any payload: tests that only
// need the round trip use it (a nil reply would make the call oneway).
type ignored struct{}

func (*ignored) UnmarshalMsg([]byte) ([]byte, error) { return nil, nil }
func (*ignored) UnmarshalJSON([]byte) error          { return nil }
func (*ignored) Unmarshal([]byte) error              { return nil }
func (*ignored) UnmarshalBinary([]byte) error        { return nil }
