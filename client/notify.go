package client

import (
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
)

// dropWarnEvery bounds how often dropped notifications are logged.
const dropWarnEvery = 10 * time.Second

// notify delivers a server notification (a oneway request sent by the
// server) and returns the message to decode the next frame into.
//
// With a registered channel the message is handed over (the receiver owns
// it and may give it back with protocol.FreeMsg). Without
// Option.BidirectionalBlock a full channel drops the message; drops are
// counted (DroppedServerMessages) and logged at most once per 10s. With it,
// the reader waits for the receiver (or for the connection to close), which
// holds back responses too. Without a channel,
// Option.NilCallServerMessageHandler gets the message, on the reader
// goroutine.
func (client *Client) notify(msg *protocol.Message) *protocol.Message {
	client.mu.Lock()
	ch := client.ServerMessageChan
	client.mu.Unlock()
	if ch == nil {
		h := client.option.NilCallServerMessageHandler
		if h == nil {
			return msg
		}
		client.inReader.Store(true)
		h(msg)
		client.inReader.Store(false)
		return protocol.GetPooledMsg()
	}
	if client.option.BidirectionalBlock {
		select {
		case ch <- msg:
			return protocol.GetPooledMsg()
		case <-client.done:
			return msg
		}
	}
	select {
	case ch <- msg:
		return protocol.GetPooledMsg()
	default:
	}
	n := client.dropped.Add(1)
	now := time.Now().UnixNano()
	if last := client.lastWarn.Load(); now-last >= int64(dropWarnEvery) && client.lastWarn.CompareAndSwap(last, now) {
		log.Warnf("client: server message channel full: %d notifications from %s dropped so far", n, client.RemoteAddr())
	}
	return msg
}
