package client

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

func notifyCtx(n int) context.Context {
	return context.WithValue(context.Background(), share.ReqMetaDataKey, map[string]string{"n": strconv.Itoa(n)})
}

// Scenario 25 (rpcx#583): in blocking mode no notification is lost; in drop
// mode every drop is counted. Scenario 27 (rpcx#866): a notification sent
// before the reply is observed before the reply.
func TestClientNotifications(t *testing.T) {
	const n = 500
	t.Run("channel", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		c := dialTest(t, s, DefaultOption)
		ch := make(chan *protocol.Message, n)
		c.RegisterServerMessageChan(ch)
		if err := c.Call(notifyCtx(3), "S", "Notify", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
		if len(ch) != 3 { // ordering contract: pushes before the reply are delivered first
			t.Fatalf("%d notifications before the reply", len(ch))
		}
		for i := range 3 {
			m := <-ch
			if string(m.Payload) != strconv.Itoa(i) || m.ServicePath != "Push" || m.MessageType() != protocol.Request {
				t.Fatalf("notification %d: %v", i, m)
			}
			protocol.FreeMsg(m)
		}
		c.UnregisterServerMessageChan()
		if err := c.Call(notifyCtx(2), "S", "Notify", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
		if len(ch) != 0 || c.DroppedServerMessages() != 0 {
			t.Fatal("unregistered channel still receives")
		}
	})
	t.Run("block", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		opt := DefaultOption
		opt.BidirectionalBlock = true
		c := dialTest(t, s, opt)
		ch := make(chan *protocol.Message, 1)
		c.RegisterServerMessageChan(ch)
		var got atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				<-ch
				got.Add(1)
			}
		}()
		if err := c.Call(notifyCtx(n), "S", "Notify", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got.Load() != n || c.DroppedServerMessages() != 0 {
			t.Fatalf("got %d, dropped %d", got.Load(), c.DroppedServerMessages())
		}
	})
	t.Run("drop", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		c := dialTest(t, s, DefaultOption)
		ch := make(chan *protocol.Message, 10)
		c.RegisterServerMessageChan(ch)
		if err := c.Call(notifyCtx(n), "S", "Notify", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
		if got := uint64(len(ch)) + c.DroppedServerMessages(); got != n || len(ch) != 10 {
			t.Fatalf("delivered %d + dropped %d != %d", len(ch), c.DroppedServerMessages(), n)
		}
	})
	t.Run("handler", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		var got atomic.Int64
		opt := DefaultOption
		opt.NilCallServerMessageHandler = func(m *protocol.Message) { got.Add(1) }
		c := dialTest(t, s, opt)
		if err := c.Call(notifyCtx(5), "S", "Notify", &echoArgs{}, new(ignored)); err != nil {
			t.Fatal(err)
		}
		if got.Load() != 5 {
			t.Fatalf("handler got %d", got.Load())
		}
	})
	t.Run("handler closes the client", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		var c *Client
		closed := make(chan error, 1)
		opt := DefaultOption
		opt.NilCallServerMessageHandler = func(m *protocol.Message) { closed <- c.Close() }
		c = NewClient(opt)
		if err := c.Connect(s.network, s.addr); err != nil {
			t.Fatal(err)
		}
		call := c.Go(notifyCtx(1), "S", "Notify", &echoArgs{}, new(ignored), make(chan *Call, 1))
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close from the reader goroutine deadlocks")
		}
		if got := <-call.Done; !errors.Is(got.Error, ErrShutdown) {
			t.Fatalf("err %v", got.Error)
		}
	})
	t.Run("blocked reader released by close", func(t *testing.T) {
		s := startTestServer(t, "memu", nil)
		opt := DefaultOption
		opt.BidirectionalBlock = true
		c := dialTest(t, s, opt)
		c.RegisterServerMessageChan(make(chan *protocol.Message)) // nobody reads
		call := c.Go(notifyCtx(1), "S", "Notify", &echoArgs{}, new(ignored), nil)
		waitFor(t, 5*time.Second, "the notification to be sent", func() bool { return c.pendingLen() == 1 })
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := <-call.Done; !errors.Is(got.Error, ErrShutdown) {
			t.Fatalf("err %v", got.Error)
		}
	})
}

// Scenario 21 (rpcx#728): 100 goroutines share one ctx holding a response
// metadata map, against a server that answers every call with an error.
// Run with -race: no data race, no concurrent map writes.
func TestClientSharedResMetadataRace(t *testing.T) {
	s1 := startTestServer(t, "memu", nil)
	s2 := startTestServer(t, "memu", nil)
	c1 := dialTest(t, s1, DefaultOption)
	c2 := dialTest(t, s2, DefaultOption)
	resMeta := map[string]string{}
	ctx := context.WithValue(context.Background(), share.ResMetaDataKey, resMeta)
	ctx = context.WithValue(ctx, share.ReqMetaDataKey, map[string]string{"code": "13"})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := c1
			if i%2 == 1 {
				c = c2
			}
			var err error
			if i%3 == 0 {
				err = (<-c.Go(ctx, "S", "Error", &echoArgs{}, new(ignored), nil).Done).Error
			} else {
				err = c.Call(ctx, "S", "Error", &echoArgs{}, new(ignored))
			}
			if share.CodeOf(err) != share.CodeInternal {
				t.Errorf("err %v code %v", err, share.CodeOf(err))
			}
		}()
	}
	wg.Wait()
	if resMeta["k"] != "v" || resMeta[protocol.ServiceError] != "boom" {
		t.Fatalf("response metadata %v", resMeta)
	}
}
