package serverplugin

import (
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/courier-rpc/courier/log"
)

// TeeConnPlugin copies every byte the server reads from each accepted
// connection to a writer, for debugging and recording traffic. The copy is
// made after the bytes are read, so it never changes what the server sees;
// a failing writer is reported once per connection through courier/log and
// does not break the connection. Writes from concurrent connections are
// serialized, so the writer need not be safe for concurrent use, but chunks
// of different connections interleave.
//
// The zero value copies nothing until Update sets a writer. The plugin is
// safe for concurrent use.
type TeeConnPlugin struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTeeConnPlugin returns a TeeConnPlugin that copies to w (nil: copy
// nothing).
func NewTeeConnPlugin(w io.Writer) *TeeConnPlugin {
	return &TeeConnPlugin{w: w}
}

// Update replaces the writer, also for connections accepted earlier; nil
// stops copying.
func (plugin *TeeConnPlugin) Update(w io.Writer) {
	plugin.mu.Lock()
	plugin.w = w
	plugin.mu.Unlock()
}

// HandleConnAccept wraps conn so that what is read from it is copied to the
// plugin's writer, and always accepts. It implements
// server.PostConnAcceptPlugin.
func (plugin *TeeConnPlugin) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	if conn == nil {
		return conn, true
	}
	return &teeConn{Conn: conn, plugin: plugin}, true
}

// copy writes p to the current writer and returns its error.
func (plugin *TeeConnPlugin) copy(p []byte) error {
	plugin.mu.Lock()
	defer plugin.mu.Unlock()
	if plugin.w == nil {
		return nil
	}
	_, err := plugin.w.Write(p)
	return err
}

// teeConn is a net.Conn whose reads are copied to its plugin's writer.
type teeConn struct {
	net.Conn
	plugin *TeeConnPlugin
	failed atomic.Bool // a copy failed and was logged
}

// Read reads from the connection and copies what it got.
func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.plugin.copy(p[:n]); werr != nil && !c.failed.Swap(true) {
			log.Warnf("serverplugin: tee of connection from %v: %v", c.Conn.RemoteAddr(), werr)
		}
	}
	return n, err
}

// NetConn returns the wrapped connection (as crypto/tls.Conn does).
func (c *teeConn) NetConn() net.Conn { return c.Conn }
