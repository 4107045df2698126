package client

import (
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

// Who owns what on a Client's connection.
//
// Write side, all under wmu. There is no writer goroutine. A caller that
// queues a frame while no write is in progress (wbusy false) becomes the
// flusher: it sets wbusy, writes its own frame, then writes whatever other
// callers queued in wq meanwhile, batch after batch, and clears wbusy when
// wq is empty. When other calls are in flight, the flusher first yields
// the processor once (runtime.Gosched) so that the callers already
// runnable queue their frames and one write carries them all. Callers that find wbusy set append their frame to wq and
// return; the flusher writes it. So exactly one goroutine writes to the
// connection at a time, concurrent callers share write calls (group
// commit), and an idle connection keeps neither a goroutine nor a buffer
// for writing.
//
//   - wq: frames queued while a write is in progress (a pooled buffer;
//     nil when empty). Appended by callers; taken whole by the flusher.
//     wq != nil implies wbusy.
//   - wbusy: set by the caller that becomes the flusher, cleared by it once
//     wq is empty (or the write failed).
//   - wopen, wconn: set once by start. wclosed: set once by terminate,
//     which also drops wq; nothing is queued afterwards.
//
// Read side: the reader goroutine (readLoop) alone owns the connection's
// connReader and the message it decodes into. It hands a response to its
// call by taking the call out of pending (under mu) and completing it;
// whoever takes a call out of pending (reader, terminate, a caller giving
// up, the ctx watcher of Go) is the only one to complete it.

// maxKeptBatch is the largest write buffer kept for reuse.
const maxKeptBatch = 1 << 20

// batchBufs holds write buffers: the queue of a connection while a write is
// in progress, and the frame buffer of the flusher.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func putBatch(bp *[]byte) {
	if cap(*bp) > maxKeptBatch {
		return
	}
	*bp = (*bp)[:0]
	batchBufs.Put(bp)
}

// enqueue hands m's frame to the connection: written by the caller itself
// when no write is in progress, else queued for the goroutine writing.
// alone (no other call in flight) writes at once; otherwise the caller
// queues its frame and yields once before writing, to batch. A frame to
// compress is encoded outside the lock first. It returns an error when the
// connection is shut down, m cannot be encoded, or the write fails (the
// connection is then shut down).
func (client *Client) enqueue(m *protocol.Message, alone bool) error {
	var frame *[]byte
	if m.CompressType() != protocol.None {
		frame = batchBufs.Get().(*[]byte)
		b, err := m.AppendTo((*frame)[:0])
		*frame = b
		if err != nil {
			putBatch(frame)
			return fmt.Errorf("client: encode request: %w", err)
		}
	}
	client.wmu.Lock()
	if !client.wopen || client.wclosed {
		client.wmu.Unlock()
		if frame != nil {
			putBatch(frame)
		}
		return client.shutdownErr()
	}
	if client.wbusy || !alone {
		err := client.queueLocked(m, frame)
		if client.wbusy || err != nil {
			client.wmu.Unlock()
			return err
		}
		client.wbusy = true
		client.wmu.Unlock()
		runtime.Gosched() // let the other callers queue theirs
		return client.flush(nil, nil)
	}
	client.wbusy = true
	client.wmu.Unlock()
	return client.flush(m, frame)
}

// queueLocked appends m's frame (or the encoded frame) to wq. The caller
// holds wmu and a write is in progress.
func (client *Client) queueLocked(m *protocol.Message, frame *[]byte) error {
	if client.wq == nil {
		client.wq = batchBufs.Get().(*[]byte)
	}
	if frame != nil {
		*client.wq = append(*client.wq, *frame...)
		putBatch(frame)
		return nil
	}
	b, err := m.AppendTo(*client.wq)
	if err != nil {
		return fmt.Errorf("client: encode request: %w", err)
	}
	*client.wq = b
	return nil
}

// flush is run by the caller that set wbusy: it writes m's frame (or the
// encoded frame; neither when both are nil), then every batch queued
// meanwhile, until the queue is empty, and clears wbusy. A payload of protocol.LargePayload bytes or more
// is sent from where it lies with one writev.
func (client *Client) flush(m *protocol.Message, frame *[]byte) error {
	var ownErr, werr error
	switch {
	case frame != nil:
		werr = client.write(*frame, nil)
		putBatch(frame)
	case m != nil:
		bp := batchBufs.Get().(*[]byte)
		head, payload, err := m.AppendHead((*bp)[:0])
		if err == nil && len(payload) < protocol.LargePayload {
			head, payload = append(head, payload...), nil
		}
		*bp = head
		if err != nil {
			ownErr = fmt.Errorf("client: encode request: %w", err)
		} else {
			werr = client.write(head, payload)
		}
		putBatch(bp)
	}
	for werr == nil {
		client.wmu.Lock()
		q := client.wq
		client.wq = nil
		if q == nil {
			client.wbusy = false
			client.wmu.Unlock()
			return ownErr
		}
		client.wmu.Unlock()
		werr = client.write(*q, nil)
		putBatch(q)
	}
	client.wmu.Lock()
	client.wbusy = false
	client.wmu.Unlock()
	err := fmt.Errorf("client: write: %w", werr)
	client.terminate(err)
	return shutdownError(err)
}

// closeWriteWait bounds how long Close waits for a write in progress (and
// the frames queued behind it) before it closes the connection anyway.
const closeWriteWait = time.Second

// drainWrites waits, at most closeWriteWait, until no write is in
// progress, so that the frames queued in wq are written rather than
// dropped by terminate. Only Close calls it; the flusher clears wbusy once
// wq is empty or its write failed, so the wait ends early in both cases.
func (client *Client) drainWrites() {
	deadline := time.Now().Add(closeWriteWait)
	for {
		client.wmu.Lock()
		busy := client.wbusy && !client.wclosed
		client.wmu.Unlock()
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// write writes head and then payload (nil for none; one writev when
// there is one) to the connection, within Option.WriteTimeout when set.
// Only the flusher calls it.
func (client *Client) write(head, payload []byte) error {
	conn := client.wconn
	if t := client.option.WriteTimeout; t > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(t))
	}
	if len(payload) == 0 {
		_, err := conn.Write(head)
		return err
	}
	vec := net.Buffers{head, payload}
	_, err := vec.WriteTo(conn)
	return err
}

// readLoop is the connection's only reader: it decodes frames and hands
// responses to their calls and notifications to the notification channel.
func (client *Client) readLoop(conn net.Conn) {
	defer client.wg.Done()
	br := newConnReader(conn)
	defer br.release()
	var msg *protocol.Message // held only while frames are arriving
	idle := client.option.IdleTimeout
	for {
		if idle > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(idle))
		}
		err := br.wait()
		if err == nil {
			if msg == nil {
				msg = getReaderMsg()
			}
			err = msg.DecodeLimited(br, &client.limits)
		}
		if err != nil {
			if msg != nil {
				protocol.FreeMsg(msg)
			}
			client.terminate(readError(err, idle))
			client.serverMessagesClosed()
			return
		}
		msg = client.dispatch(msg)
		if br.buffered() == 0 { // caught up: an idle connection keeps no message
			putReaderMsg(msg)
			msg = nil
		}
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
	if hasAfterDecode(client.Plugins) { // the flag costs two barriers per response: only for hooks
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
