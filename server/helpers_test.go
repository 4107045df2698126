package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func TestMain(m *testing.M) {
	log.SetDummyLogger()
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := waitGoroutines(base, 5*time.Second); err != nil {
			os.Stderr.WriteString("leak check: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutines polls until the goroutine count is back to base.
func waitGoroutines(base int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return errors.New("goroutines leaked: " + string(buf))
		}
		time.Sleep(10 * time.Millisecond) // polling the count, not waiting for a server
	}
}

// Test services.

type Args struct {
	A, B int
}

type Reply struct {
	C int
}

type Arith struct{}

func (t *Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func (t *Arith) Add(ctx context.Context, args Args, reply *Reply) error {
	reply.C = args.A + args.B
	return nil
}

func (t *Arith) Div(ctx context.Context, args *Args, reply *Reply) error {
	if args.B == 0 {
		return share.NewError(share.CodeInvalidArgument, "divide by zero")
	}
	reply.C = args.A / args.B
	return nil
}

func (t *Arith) Fail(ctx context.Context, args *Args, reply *Reply) error {
	return errors.New("plain failure")
}

func (t *Arith) Boom(ctx context.Context, args *Args, reply *Reply) error {
	panic("boom")
}

// Helper is exported but not an RPC method: it must not be callable.
func (t *Arith) Helper(x int) int { return x }

// Meta echoes request metadata "k" into response metadata "echo".
func (t *Arith) Meta(ctx context.Context, args *Args, reply *Reply) error {
	req := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	res := ctx.Value(share.ResMetaDataKey).(map[string]string)
	res["echo"] = req["k"]
	return nil
}

// testServer starts s on tcp loopback and closes it at cleanup.
func testServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, s, ln)
	return ln.Addr().String()
}

// serveOn serves s on ln and closes it at cleanup.
func serveOn(t testing.TB, s *Server, ln net.Listener) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener("tcp", ln) }()
	select {
	case <-s.Started:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve returned %v, want ErrServerClosed", err)
		}
	})
}

func newArithServer(t testing.TB, opts ...OptionFn) (*Server, string) {
	t.Helper()
	s := NewServer(opts...)
	if err := s.Register(new(Arith), ""); err != nil {
		t.Fatal(err)
	}
	return s, testServer(t, s)
}

// rawClient speaks the rpcx protocol with raw frames.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	seq  uint64
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func newReq(path, method string, st protocol.SerializeType, payload []byte, meta map[string]string) *protocol.Message {
	m := protocol.NewMessage()
	m.SetMessageType(protocol.Request)
	m.SetSerializeType(st)
	m.ServicePath = path
	m.ServiceMethod = method
	m.Payload = payload
	m.Metadata = meta
	return m
}

func (c *rawClient) send(m *protocol.Message) uint64 {
	c.t.Helper()
	c.seq++
	m.SetSeq(c.seq)
	b, err := m.AppendTo(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return c.seq
}

func (c *rawClient) read() *protocol.Message {
	c.t.Helper()
	m, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *rawClient) tryRead(d time.Duration) (*protocol.Message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	m := protocol.NewMessage()
	lim := protocol.Limits{MaxMessageLength: protocol.NoLimit}.Resolve()
	if err := m.DecodeLimited(c.br, &lim); err != nil {
		return nil, err
	}
	return m, nil
}

// call sends a request and reads its response.
func (c *rawClient) call(m *protocol.Message) *protocol.Message {
	c.t.Helper()
	seq := c.send(m)
	res := c.read()
	if res.Seq() != seq {
		c.t.Fatalf("response seq %d, want %d", res.Seq(), seq)
	}
	return res
}

// expectClosed checks that the server closes the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	for {
		_, err := c.br.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatal("connection still open")
		}
		return
	}
}

func errText(m *protocol.Message) string {
	if m.MessageStatusType() != protocol.Error {
		return ""
	}
	return m.Metadata[protocol.ServiceError]
}

// captureLogger records log lines by level.
type captureLogger struct {
	lines chan string
}

func newCaptureLogger() *captureLogger { return &captureLogger{lines: make(chan string, 1<<16)} }

func (l *captureLogger) add(level string, v ...interface{}) {
	var b strings.Builder
	b.WriteString(level)
	for _, x := range v {
		b.WriteString(" ")
		if s, ok := x.(string); ok {
			b.WriteString(s)
		}
	}
	select {
	case l.lines <- b.String():
	default:
	}
}
func (l *captureLogger) Debug(v ...interface{})            { l.add("DEBUG", v...) }
func (l *captureLogger) Debugf(f string, v ...interface{}) { l.add("DEBUG", f) }
func (l *captureLogger) Info(v ...interface{})             { l.add("INFO", v...) }
func (l *captureLogger) Infof(f string, v ...interface{})  { l.add("INFO", f) }
func (l *captureLogger) Warn(v ...interface{})             { l.add("WARN", v...) }
func (l *captureLogger) Warnf(f string, v ...interface{})  { l.add("WARN", f) }
func (l *captureLogger) Error(v ...interface{})            { l.add("ERROR", v...) }
func (l *captureLogger) Errorf(f string, v ...interface{}) { l.add("ERROR", f) }
func (l *captureLogger) Fatal(v ...interface{})            { l.add("FATAL", v...) }
func (l *captureLogger) Fatalf(f string, v ...interface{}) { l.add("FATAL", f) }
func (l *captureLogger) Panic(v ...interface{})            { l.add("PANIC", v...) }
func (l *captureLogger) Panicf(f string, v ...interface{}) { l.add("PANIC", f) }

// waitFor polls cond until it holds or 5s pass.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}

type protocolCodec struct{ st protocol.SerializeType }

func (p *protocolCodec) encode(v interface{}) ([]byte, error) { return share.Codecs[p.st].Encode(v) }
