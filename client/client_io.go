package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// maxKeptBatch is the largest write buffer the writer keeps for reuse.
const maxKeptBatch = 1 << 20

// enqueue appends the encoding of m to the write queue and wakes the
// writer. Uncompressed frames are encoded straight into the queue; frames
// to compress are encoded outside the lock first. When the call is alone
// (no other call in flight) and no write is in progress, the caller writes
// its frame itself: that saves waking the writer goroutine, which is most
// of a lone call's cost.
func (client *Client) enqueue(m *protocol.Message, alone bool) error {
	if m.CompressType() != protocol.None {
		bp := frameBufs.Get().(*[]byte)
		b, err := m.AppendTo((*bp)[:0])
		if err == nil {
			err = client.enqueueBytes(b)
		} else {
			err = fmt.Errorf("client: encode request: %w", err)
		}
		if cap(b) <= maxKeptBatch {
			*bp = b[:0]
			frameBufs.Put(bp)
		}
		return err
	}
	client.wmu.Lock()
	if !client.wopen || client.wclosed {
		client.wmu.Unlock()
		return client.shutdownErr()
	}
	wasEmpty := len(client.wbuf) == 0
	if alone && wasEmpty && !client.wbusy {
		return client.writeInline(m) // unlocks wmu
	}
	if client.wbuf == nil {
		client.wbuf = make([]byte, 0, WriterBuffsize)
	}
	b, err := m.AppendTo(client.wbuf)
	if err != nil {
		client.wmu.Unlock()
		return fmt.Errorf("client: encode request: %w", err)
	}
	client.wbuf = b
	client.wmu.Unlock()
	if wasEmpty {
		client.wakeWriter()
	}
	return nil
}

// frameBufs holds buffers for frames encoded outside the queue lock.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (client *Client) enqueueBytes(frame []byte) error {
	client.wmu.Lock()
	if !client.wopen || client.wclosed {
		client.wmu.Unlock()
		return client.shutdownErr()
	}
	wasEmpty := len(client.wbuf) == 0
	client.wbuf = append(client.wbuf, frame...)
	client.wmu.Unlock()
	if wasEmpty {
		client.wakeWriter()
	}
	return nil
}

// writeInline writes m on the caller's goroutine. The caller holds wmu,
// has checked that no write is in progress, and writeInline unlocks it.
func (client *Client) writeInline(m *protocol.Message) error {
	client.wbusy = true
	conn := client.wconn
	b, payload, err := m.AppendHead(client.ibuf[:0])
	if err != nil {
		client.wbusy = false
		client.wmu.Unlock()
		return fmt.Errorf("client: encode request: %w", err)
	}
	client.wmu.Unlock()
	if t := client.option.WriteTimeout; t > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(t))
	}
	var werr error
	if len(payload) < protocol.LargePayload {
		b = append(b, payload...)
		_, werr = conn.Write(b)
	} else { // send the payload from where it lies: one writev, no copy
		vec := net.Buffers{b, payload}
		_, werr = vec.WriteTo(conn)
	}
	client.wmu.Lock()
	if cap(b) <= maxKeptBatch {
		client.ibuf = b[:0]
	}
	client.wbusy = false
	more := len(client.wbuf) > 0
	client.wmu.Unlock()
	if werr != nil {
		err := fmt.Errorf("client: write: %w", werr)
		client.terminate(err)
		return shutdownError(err)
	}
	if more { // frames queued during the write: the writer takes them
		client.wakeWriter()
	}
	return nil
}

func (client *Client) wakeWriter() {
	select {
	case client.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the connection's only writer: it takes everything queued
// since its last write and writes it with one Write call.
func (client *Client) writeLoop(conn net.Conn) {
	defer client.wg.Done()
	var spare []byte
	timeout := client.option.WriteTimeout
	for {
		select {
		case <-client.wake:
		case <-client.done:
			return
		}
		// Let other callers queue their requests so that one write carries
		// them all; with nothing else runnable this returns at once.
		runtime.Gosched()
		client.wmu.Lock()
		if client.wbusy { // an inline write is in progress; it wakes us when it ends with frames queued
			client.wmu.Unlock()
			continue
		}
		batch := client.wbuf
		client.wbuf = spare
		client.wbusy = len(batch) > 0
		client.wmu.Unlock()
		if len(batch) == 0 {
			spare = batch
			continue
		}
		if timeout > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		_, err := conn.Write(batch)
		client.wmu.Lock()
		client.wbusy = false
		more := len(client.wbuf) > 0
		client.wmu.Unlock()
		if err != nil {
			client.terminate(fmt.Errorf("client: write: %w", err))
			return
		}
		if more {
			client.wakeWriter()
		}
		if cap(batch) > maxKeptBatch {
			batch = nil
		}
		spare = batch[:0]
	}
}

// readLoop is the connection's only reader: it decodes frames and hands
// responses to their calls and notifications to the notification channel.
func (client *Client) readLoop(conn net.Conn) {
	defer client.wg.Done()
	br := bufio.NewReaderSize(conn, ReaderBuffsize)
	msg := protocol.GetPooledMsg()
	idle := client.option.IdleTimeout
	for {
		if idle > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(idle))
		}
		if err := msg.DecodeLimited(br, &client.limits); err != nil {
			protocol.FreeMsg(msg)
			client.terminate(readError(err, idle))
			client.serverMessagesClosed()
			return
		}
		msg = client.dispatch(msg)
	}
}

func readError(err error, idle time.Duration) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("client: connection closed by server: %w", err)
	case idle > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("client: idle for %v: %w", idle, err)
	}
	return fmt.Errorf("client: read: %w", err)
}

// dispatch handles one decoded frame and returns the message to decode the
// next frame into (msg itself, or a fresh one when msg was handed over).
func (client *Client) dispatch(msg *protocol.Message) *protocol.Message {
	var hookErr error
	if client.Plugins != nil {
		client.inReader.Store(true)
		hookErr = client.Plugins.DoClientAfterDecode(msg)
		client.inReader.Store(false)
		if hookErr != nil {
			hookErr = fmt.Errorf("client: after decode plugin: %w", hookErr)
		}
	}
	if msg.MessageType() == protocol.Request {
		if msg.IsOneway() && !msg.IsHeartbeat() {
			return client.notify(msg)
		}
		return msg // the server expects nothing from a client: ignore
	}
	if msg.Metadata != nil {
		if _, ok := msg.Metadata[share.DrainKey]; ok {
			client.draining.Store(true)
		}
	}
	seq := msg.Seq()
	if seq == share.DrainSeq {
		return msg
	}
	client.mu.Lock()
	rc := client.pending[seq]
	if rc != nil {
		delete(client.pending, seq)
	}
	client.mu.Unlock()
	if rc == nil {
		return msg // the call gave up (ctx done): drop the late response
	}
	if client.complete(rc, msg, hookErr) {
		return protocol.GetPooledMsg()
	}
	return msg
}
