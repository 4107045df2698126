//go:build quic

// Package quicconn is what the server's and the client's quic transports
// share: the ALPN protocol and keep-alive period, and Conn, a QUIC
// connection used as a net.Conn through its one stream. It is compiled
// only with the quic build tag, like the transport files that import it.
package quicconn

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// ALPN is the protocol offered in TLS when the config names none (rpcx's
// value, so courier and rpcx peers agree).
const ALPN = "rpcx"

// KeepAlive is the default keep-alive period of QUIC connections: QUIC
// closes a connection idle for 30 s, and rpcx connections are often idle
// longer.
const KeepAlive = 15 * time.Second

// Conn is one QUIC connection carrying one rpcx connection on its single
// bidirectional stream: Read, Write and deadlines are the stream's. Like a
// net.Conn it may be read and written concurrently.
type Conn struct {
	qc *quic.Conn
	*quic.Stream
}

// New returns the Conn of qc used through st.
func New(qc *quic.Conn, st *quic.Stream) *Conn { return &Conn{qc: qc, Stream: st} }

// Close closes the stream and the connection (error code 0); it returns the
// connection's close error.
func (c *Conn) Close() error {
	_ = c.Stream.Close()
	return c.qc.CloseWithError(0, "")
}

// LocalAddr returns the local UDP address.
func (c *Conn) LocalAddr() net.Addr { return c.qc.LocalAddr() }

// RemoteAddr returns the peer's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// ConnectionState returns the TLS state of the connection (for
// PeerCertificates).
func (c *Conn) ConnectionState() tls.ConnectionState { return c.qc.ConnectionState().TLS }
