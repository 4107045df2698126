package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// Scenario 21: 100 concurrent callers against a handler that writes
// response metadata and returns errors: no race, every response carries
// its own metadata.
func TestConcurrentErrorsWithResponseMetadata(t *testing.T) {
	s := NewServer()
	if err := Handle(s, "C", "Fail", func(ctx context.Context, req *[]byte, res *[]byte) error {
		ctx.Value(share.ResMetaDataKey).(map[string]string)["id"] = string(*req)
		return share.NewError(share.CodeAborted, "failed "+string(*req))
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errc <- err
				return
			}
			defer conn.Close()
			br := newReader(conn)
			for i := range 10 {
				id := strconv.Itoa(g*100 + i)
				req := newReq("C", "Fail", protocol.SerializeNone, []byte(id), nil)
				req.SetSeq(uint64(i + 1))
				if _, err := req.WriteTo(conn); err != nil {
					errc <- err
					return
				}
				m := protocol.NewMessage()
				if err := m.Decode(br); err != nil {
					errc <- err
					return
				}
				if m.Metadata["id"] != id || errText(m) != "failed "+id || m.Metadata[share.ErrorCodeKey] != "10" {
					errc <- errors.New("wrong response: " + m.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// WithPool bounds the handlers running at once.
func TestBoundedPool(t *testing.T) {
	s := NewServer(WithPool(2, 10))
	var running, peak atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	if err := Handle(s, "P", "Work", func(ctx context.Context, req *[]byte, res *[]byte) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		running.Add(-1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	c := dialRaw(t, addr)
	for range 6 {
		c.send(newReq("P", "Work", protocol.SerializeNone, nil, nil))
	}
	<-entered
	<-entered
	select {
	case <-entered:
		t.Fatal("a third handler ran with WithPool(2, ...)")
	case <-time.After(100 * time.Millisecond): // nothing else may start meanwhile
	}
	close(release)
	for range 6 {
		c.read()
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak %d running handlers, want 2", p)
	}
}

type countingPool struct {
	WorkerPool
	submitted atomic.Int32
}

func (p *countingPool) Submit(task func()) {
	p.submitted.Add(1)
	p.WorkerPool.Submit(task)
}

func TestCustomPool(t *testing.T) {
	cp := &countingPool{WorkerPool: NewWorkerPool(0, 0)}
	s := NewServer(WithCustomPool(cp))
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":8}`), nil)); string(m.Payload) != `{"C":16}` {
		t.Fatalf("got %q", m.Payload)
	}
	if cp.submitted.Load() != 1 {
		t.Fatalf("submitted %d", cp.submitted.Load())
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "courier test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
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
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestServeTLS(t *testing.T) {
	cfg, roots := selfSigned(t)
	s := NewServer(WithTLSConfig(cfg), WithFrameTimeout(time.Second))
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started
	addr := s.Address().String()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, br: newReader(conn)}
	if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":3,"B":7}`), nil)); string(m.Payload) != `{"C":21}` {
		t.Fatalf("got %q %s", m.Payload, errText(m))
	}
	conn.Close()
	// A plain-text client fails the handshake and is closed.
	plain := dialRaw(t, addr)
	plain.send(newReq("Arith", "Mul", protocol.JSON, nil, nil))
	plain.expectClosed()
	s.Close()
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

// WithReadTimeout closes a connection that stays idle between frames.
func TestReadTimeoutClosesIdle(t *testing.T) {
	s, addr := newArithServer(t, WithReadTimeout(150*time.Millisecond))
	c := dialRaw(t, addr)
	if m := c.call(newReq("Arith", "Mul", protocol.JSON, []byte(`{"A":1,"B":2}`), nil)); string(m.Payload) != `{"C":2}` {
		t.Fatalf("got %q", m.Payload)
	}
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("idle conn closed after %v", d)
	}
	waitFor(t, func() bool { return s.Stats().ConnsClosed == 1 })
}

type limitPlugin struct{ n atomic.Int32 }

func (p *limitPlugin) PreReadRequest(ctx context.Context) error {
	if p.n.Add(1) == 2 {
		return ErrReqReachLimit
	}
	return nil
}

// A rate-limit plugin's ErrReqReachLimit answers that request with the
// error; the connection stays usable.
func TestRequestRateLimitPlugin(t *testing.T) {
	s := NewServer()
	s.Plugins.Add(&limitPlugin{})
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, testServer(t, s))
	p := []byte(`{"A":2,"B":2}`)
	for i, want := range []string{"", ErrReqReachLimit.Error(), ""} {
		m := c.call(newReq("Arith", "Mul", protocol.JSON, p, nil))
		if errText(m) != want {
			t.Fatalf("call %d: error %q, want %q", i, errText(m), want)
		}
	}
}

// Replies are encoded into the buffers of pooled responses, which later
// requests and replies reuse: pipelined calls of very different sizes on
// several connections must each get their own reply, whole.
func TestPooledReplyBuffers(t *testing.T) {
	type echo struct{ S string }
	s := NewServer()
	if err := Handle(s, "E", "Echo", func(_ context.Context, req *echo, res *echo) error {
		res.S = strings.ToUpper(req.S)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	addr := testServer(t, s)
	sizes := []int{0, 1, 600, 5000, 64 << 10, 70000, 3, 300 << 10, 17}
	const conns, calls = 4, 60
	errc := make(chan error, 2*conns)
	var wg sync.WaitGroup
	for g := range conns {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		want := make([]string, calls+1) // by seq
		frames := make([][]byte, calls+1)
		for seq := 1; seq <= calls; seq++ {
			st := protocol.MsgPack
			if (g+seq)%3 == 0 {
				st = protocol.JSON
			}
			str := strings.Repeat(string(rune('a'+(g+seq)%26)), sizes[(g+seq)%len(sizes)])
			payload, err := s.codecs.Get(st).Encode(&echo{S: str})
			if err != nil {
				t.Fatal(err)
			}
			req := newReq("E", "Echo", st, payload, nil)
			req.SetSeq(uint64(seq))
			if frames[seq], err = req.AppendTo(nil); err != nil {
				t.Fatal(err)
			}
			want[seq] = strings.ToUpper(str)
		}
		wg.Add(2)
		go func() { // writes while the replies are read
			defer wg.Done()
			for _, f := range frames[1:] {
				if _, err := conn.Write(f); err != nil {
					errc <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			br := newReader(conn)
			lim := protocol.Limits{MaxMessageLength: protocol.NoLimit}.Resolve()
			for range calls {
				m := protocol.NewMessage()
				if err := m.DecodeLimited(br, &lim); err != nil {
					errc <- err
					return
				}
				var got echo
				seq := m.Seq()
				if seq < 1 || seq > calls {
					errc <- fmt.Errorf("reply with seq %d", seq)
					return
				}
				if err := s.codecs.Get(m.SerializeType()).Decode(m.Payload, &got); err != nil {
					errc <- fmt.Errorf("seq %d: %v", seq, err)
					return
				}
				if got.S != want[seq] {
					errc <- fmt.Errorf("seq %d: reply of %d bytes is not the one asked for (%d bytes)", seq, len(got.S), len(want[seq]))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}
