package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/courier-rpc/courier/protocol"
)

// defaultMaxWaitForHeartbeat is used when Option.MaxWaitForHeartbeat is 0.
const defaultMaxWaitForHeartbeat = 30 * time.Second

// heartbeatLoop sends a heartbeat every Option.HeartbeatInterval. A
// heartbeat that gets no reply within Option.MaxWaitForHeartbeat shuts the
// connection down: pending calls fail with ErrShutdown at once instead of
// waiting on a dead socket.
func (client *Client) heartbeatLoop() {
	defer client.wg.Done()
	t := time.NewTicker(client.option.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-client.done:
			return
		case <-t.C:
		}
		if err := client.ping(); err != nil {
			if !errors.Is(err, ErrShutdown) {
				client.terminate(err)
			}
			return
		}
	}
}

// ping sends one heartbeat and waits for its reply.
func (client *Client) ping() error {
	wait := client.option.MaxWaitForHeartbeat
	if wait <= 0 {
		wait = defaultMaxWaitForHeartbeat
	}
	m := protocol.GetPooledMsg()
	m.SetHeartbeat(true)
	m.SetSerializeType(client.option.SerializeType)
	rc := getSyncCall()
	err := client.transmit(rc, m)
	protocol.FreeMsg(m)
	if err != nil {
		putSyncCall(rc)
		return err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-rc.ready:
	case <-client.done:
		<-rc.ready // shutdown fails every pending call
	case <-timer.C:
		if client.unregister(rc) {
			putSyncCall(rc)
			return fmt.Errorf("%w: no reply within %v", errHeartbeatTimeout, wait)
		}
		<-rc.ready
	}
	protocol.FreeMsg(rc.resp)
	err = rc.err
	putSyncCall(rc)
	return err
}
