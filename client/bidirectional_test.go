package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/server"
)

// pushServer is a real server whose Reg.Hello handler records the
// connection of each client (by the request string) and Reg.Push pushes M
// then replies R.
type pushServer struct {
	s    *server.Server
	addr string
	mu   sync.Mutex
	cs   map[string]net.Conn
}

func startPushServer(t *testing.T, opts ...server.OptionFn) *pushServer {
	t.Helper()
	ps := &pushServer{s: server.NewServer(opts...), cs: map[string]net.Conn{}}
	err := server.Handle(ps.s, "Reg", "Hello", func(ctx context.Context, id *string, res *string) error {
		ps.mu.Lock()
		ps.cs[*id] = ctx.Value(server.RemoteConnContextKey).(net.Conn)
		ps.mu.Unlock()
		*res = "hi"
		return nil
	})
	if err == nil {
		err = server.Handle(ps.s, "Reg", "Push", func(ctx context.Context, req *string, res *string) error {
			if err := ps.s.SendMessage(ctx.Value(server.RemoteConnContextKey).(net.Conn), "Reg", "M", nil, []byte("M"+*req)); err != nil {
				return err
			}
			*res = "R" + *req
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- ps.s.ServeListener("tcp", ln) }()
	<-ps.s.Started
	ps.addr = ln.Addr().String()
	t.Cleanup(func() {
		ps.s.Close()
		<-errc
	})
	return ps
}

// hello connects a client and registers its connection under id.
func (ps *pushServer) hello(t *testing.T, opt client.Option, id string, ch chan *protocol.Message) (*client.Client, net.Conn) {
	t.Helper()
	c := client.NewClient(opt)
	if ch != nil {
		c.RegisterServerMessageChan(ch)
	}
	if err := c.Connect("tcp", ps.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var res string
	if err := c.Call(context.Background(), "Reg", "Hello", id, &res); err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return c, ps.cs[id]
}

// Scenario 25 (rpcx#583, #702, #703): the server pushes 10,000 messages
// faster than the client consumes. With BidirectionalBlock nothing is lost
// and order is kept (back-pressure reaches SendMessageContext); without
// it every message is either delivered or counted as dropped.
func TestPushFlood(t *testing.T) {
	const n = 10000
	send := func(t *testing.T, ps *pushServer, conn net.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := range n {
			if err := ps.s.SendMessageContext(ctx, conn, "Reg", "Flood", nil, []byte(strconv.Itoa(i))); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}
	t.Run("block", func(t *testing.T) {
		ps := startPushServer(t, server.WithMaxNotifyQueue(64))
		opt := client.DefaultOption
		opt.BidirectionalBlock = true
		ch := make(chan *protocol.Message, 16)
		c, conn := ps.hello(t, opt, "a", ch)
		go send(t, ps, conn)
		deadline := time.After(30 * time.Second)
		for i := range n {
			select {
			case m := <-ch:
				if string(m.Payload) != strconv.Itoa(i) {
					t.Fatalf("message %d has payload %q", i, m.Payload)
				}
				protocol.FreeMsg(m)
			case <-deadline:
				t.Fatalf("only %d of %d messages within 30s", i, n)
			}
			if i%1000 == 0 {
				time.Sleep(time.Millisecond) // a slow consumer
			}
		}
		if d := c.DroppedServerMessages(); d != 0 {
			t.Fatalf("%d dropped in blocking mode", d)
		}
	})
	t.Run("drop", func(t *testing.T) {
		ps := startPushServer(t)
		ch := make(chan *protocol.Message, 16)
		c, conn := ps.hello(t, client.DefaultOption, "a", ch)
		send(t, ps, conn) // the consumer waits until everything was sent
		deadline := time.Now().Add(30 * time.Second)
		for uint64(len(ch))+c.DroppedServerMessages() < n {
			if time.Now().After(deadline) {
				t.Fatalf("delivered %d + dropped %d < %d after 30s", len(ch), c.DroppedServerMessages(), n)
			}
			time.Sleep(time.Millisecond) // polling a counter with a deadline
		}
		if got, d := len(ch), c.DroppedServerMessages(); got != cap(ch) || uint64(got)+d != n {
			t.Fatalf("delivered %d, dropped %d, want %d + %d", got, d, cap(ch), n-cap(ch))
		}
	})
}

// Scenario 26 (rpcx#261): when the server closes a bidirectional
// connection, Option.ServerMessageClosed reports it (error wrapping
// ErrShutdown) after the last notification, and the channel stays open.
func TestPushClosedEvent(t *testing.T) {
	t.Run("client", func(t *testing.T) {
		ps := startPushServer(t)
		closed := make(chan error, 1)
		var delivered atomic.Int64
		ch := make(chan *protocol.Message, 8)
		opt := client.DefaultOption
		opt.ServerMessageClosed = func(addr string, err error) {
			delivered.Store(int64(len(ch)))
			if addr != ps.addr {
				err = fmt.Errorf("address %q, want %q", addr, ps.addr)
			}
			closed <- err
		}
		_, conn := ps.hello(t, opt, "a", ch)
		if err := ps.s.SendMessage(conn, "Reg", "Last", nil, []byte("bye")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ps.s.Shutdown(ctx); err != nil { // flushes "bye", then closes
			t.Fatal(err)
		}
		select {
		case err := <-closed:
			if !errors.Is(err, client.ErrShutdown) {
				t.Fatalf("terminal event %v, want ErrShutdown", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no terminal event within 10s")
		}
		if delivered.Load() != 1 {
			t.Fatalf("%d notifications delivered before the terminal event, want 1", delivered.Load())
		}
		select {
		case m, ok := <-ch:
			if !ok || string(m.Payload) != "bye" {
				t.Fatalf("channel: %v, open %v", m, ok)
			}
		default:
			t.Fatal("notification lost")
		}
		select {
		case _, ok := <-ch:
			t.Fatalf("channel received again (open %v)", ok)
		default: // still open, nothing more
		}
	})
	t.Run("xclient", func(t *testing.T) {
		ps := startPushServer(t)
		closed := make(chan error, 1)
		opt := client.DefaultOption
		opt.ServerMessageClosed = func(addr string, err error) { closed <- err }
		d, err := client.NewPeer2PeerDiscovery("tcp@"+ps.addr, "")
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan *protocol.Message, 8)
		x := client.NewBidirectionalXClient("Reg", client.Failfast, client.RandomSelect, d, opt, ch)
		t.Cleanup(func() { x.Close() })
		var res string
		if err := x.Call(context.Background(), "Push", "1", &res); err != nil || res != "R1" {
			t.Fatalf("Push = %q, %v", res, err)
		}
		ps.s.Close()
		select {
		case err := <-closed:
			if !errors.Is(err, client.ErrShutdown) {
				t.Fatalf("terminal event %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no terminal event within 10s")
		}
	})
}

// Scenario 27 (rpcx#866): a handler pushes M and then returns R on the same
// connection; the client has M in its channel when the call returns R.
func TestPushBeforeReply(t *testing.T) {
	ps := startPushServer(t)
	d, err := client.NewPeer2PeerDiscovery("tcp@"+ps.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *protocol.Message, 200)
	x := client.NewBidirectionalXClient("Reg", client.Failfast, client.RandomSelect, d, client.DefaultOption, ch)
	t.Cleanup(func() { x.Close() })
	for i := range 200 {
		var res string
		arg := strconv.Itoa(i)
		if err := x.Call(context.Background(), "Push", arg, &res); err != nil || res != "R"+arg {
			t.Fatalf("call %d: %q, %v", i, res, err)
		}
		if len(ch) != 1 {
			t.Fatalf("call %d returned with %d notifications queued, want 1", i, len(ch))
		}
		if m := <-ch; string(m.Payload) != "M"+arg {
			t.Fatalf("call %d: notification %q", i, m.Payload)
		}
	}
}

// 10,000 notifications to 100 clients arrive in order per client, while a
// client that stopped reading (its connection's writer blocked) does not
// stall the others.
func TestPushManyClients(t *testing.T) {
	const clients, perClient = 100, 100
	ps := startPushServer(t, server.WithMaxNotifyQueue(32))

	// The stalled client: blocking delivery into a channel nobody reads.
	stallOpt := client.DefaultOption
	stallOpt.BidirectionalBlock = true
	_, stalled := ps.hello(t, stallOpt, "stalled", make(chan *protocol.Message))
	big := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("the stalled connection took 2000 x 64 KiB")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := ps.s.SendMessageContext(ctx, stalled, "Reg", "Big", nil, big)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break // its queue is full: the connection is stalled
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	opt := client.DefaultOption
	opt.BidirectionalBlock = true
	conns := make([]net.Conn, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		ch := make(chan *protocol.Message, 16)
		_, conns[i] = ps.hello(t, opt, strconv.Itoa(i), ch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := time.After(30 * time.Second)
			for j := range perClient {
				select {
				case m := <-ch:
					if want := strconv.Itoa(j); string(m.Payload) != want {
						errs <- fmt.Errorf("client %d: message %d is %q", i, j, m.Payload)
						return
					}
				case <-timeout:
					errs <- fmt.Errorf("client %d: %d of %d messages within 30s", i, j, perClient)
					return
				}
			}
		}()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for j := range perClient {
		for i, conn := range conns {
			if err := ps.s.SendMessageContext(ctx, conn, "Reg", "N", nil, []byte(strconv.Itoa(j))); err != nil {
				t.Fatalf("send %d to client %d: %v", j, i, err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d notifications to %d clients in %v beside a stalled client", clients*perClient, clients, time.Since(start))
}
