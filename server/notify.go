package server

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/protocol"
)

// SendMessage sends a notification to the client of conn (a connection
// from RemoteConnContextKey or ActiveClientConn): a oneway request-type
// message with the serialize type of the connection's last request (raw
// bytes before any). It queues the message on the connection's writer and
// returns at once; it fails with ErrConnNotFound for a connection this
// server does not serve (or no longer) and with ErrNotifyQueueFull when
// WithMaxNotifyQueue notifications already wait on it. A notification sent
// before a handler returns is written before that handler's reply.
func (s *Server) SendMessage(conn net.Conn, servicePath, serviceMethod string, metadata map[string]string, data []byte) error {
	return s.sendMessage(context.Background(), false, conn, servicePath, serviceMethod, metadata, data)
}

// SendMessageContext is like SendMessage but waits for room in a full
// notification queue until ctx is done (then it returns ctx.Err()).
func (s *Server) SendMessageContext(ctx context.Context, conn net.Conn, servicePath, serviceMethod string, metadata map[string]string, data []byte) error {
	return s.sendMessage(ctx, true, conn, servicePath, serviceMethod, metadata, data)
}

func (s *Server) sendMessage(ctx context.Context, wait bool, nc net.Conn, servicePath, serviceMethod string, metadata map[string]string, data []byte) error {
	c := s.findConn(nc)
	if c == nil {
		return ErrConnNotFound
	}
	if err := s.Plugins.DoPreWriteRequest(ctx); err != nil {
		return err
	}
	for {
		n := c.notifies.Add(1)
		if int(n) <= s.maxNotifyQueue {
			break
		}
		c.notifies.Add(-1)
		if !wait {
			return ErrNotifyQueueFull
		}
		// The signal exists before the count is read again, and release
		// decrements before it looks for the signal: one of the two sees
		// the other, so no written notification goes unnoticed.
		room := c.roomSignal()
		if int(c.notifies.Load()) < s.maxNotifyQueue {
			continue
		}
		select {
		case <-room:
		case <-c.stopChan():
			return ErrConnNotFound
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m := protocol.GetPooledMsg()
	m.SetMessageType(protocol.Request)
	m.SetOneway(true)
	m.SetSerializeType(protocol.SerializeType(c.lastST.Load()))
	m.SetSeq(s.seq.Add(1))
	m.ServicePath = servicePath
	m.ServiceMethod = serviceMethod
	if len(metadata) > 0 {
		m.Metadata = make(map[string]string, len(metadata))
		for k, v := range metadata {
			m.Metadata[k] = v
		}
	}
	m.Payload = append([]byte(nil), data...)
	h := *m.Header
	info := &protocol.Message{Header: &h, ServicePath: servicePath, ServiceMethod: serviceMethod, Metadata: m.Metadata, Payload: data}
	var err error
	if !c.enqueue(outItem{msg: m, kind: itemNotify}) {
		err = ErrConnNotFound
	} else {
		s.stats.notifications.Add(1)
	}
	_ = s.Plugins.DoPostWriteRequest(ctx, info, err)
	return err
}
