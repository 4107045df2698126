//go:build kcp

// Command kcp serves Arith over KCP (a reliable ARQ protocol on UDP) with
// AES encryption and calls it. Server and client derive the same key with
// PBKDF2; a PostConnAccept plugin on the server and a ConnCreated plugin on
// the client tune each *kcp.UDPSession. KCP has no keep-alive, so the
// client sets an idle timeout. Build with the kcp tag; it needs no
// external service:
//
//	go run -tags kcp ./examples/transport/kcp
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/xtaci/kcp-go/v5"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

const (
	cryptKey  = "rpcx-key"
	cryptSalt = "rpcx-salt"
)

// Args are the arguments of Arith.Mul.
type Args struct{ A, B int }

// Reply is the result of Arith.Mul.
type Reply struct{ C int }

// Arith is the service.
type Arith struct{}

// Mul multiplies.
func (Arith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// sessionTuner sets KCP options on every session: as a server plugin
// (HandleConnAccept) and as a client plugin (ConnCreated).
type sessionTuner struct{}

// HandleConnAccept tunes an accepted session.
func (sessionTuner) HandleConnAccept(conn net.Conn) (net.Conn, bool) {
	if s, ok := conn.(*kcp.UDPSession); ok {
		s.SetACKNoDelay(true)
		s.SetWindowSize(256, 256)
	}
	return conn, true
}

// ConnCreated tunes a dialed session.
func (sessionTuner) ConnCreated(conn net.Conn) (net.Conn, error) {
	if s, ok := conn.(*kcp.UDPSession); ok {
		s.SetACKNoDelay(true)
		s.SetWindowSize(256, 256)
	}
	return conn, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kcp:", err)
		os.Exit(1)
	}
}

func run() error {
	pass, err := pbkdf2.Key(sha1.New, cryptKey, []byte(cryptSalt), 4096, 32)
	if err != nil {
		return err
	}
	bc, err := kcp.NewAESBlockCrypt(pass)
	if err != nil {
		return err
	}

	s := server.NewServer(server.WithBlockCrypt(bc))
	s.Plugins.Add(sessionTuner{})
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("kcp", "127.0.0.1:0") }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	option := client.DefaultOption
	option.Block = bc
	option.IdleTimeout = 10 * time.Second // KCP does not notice a dead server by itself
	d, err := client.NewPeer2PeerDiscovery("kcp@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient("Arith", client.Failtry, client.RoundRobin, d, option)
	defer xclient.Close()
	pc := client.NewPluginContainer()
	pc.Add(sessionTuner{})
	xclient.SetPlugins(pc)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		reply := &Reply{}
		if err := xclient.Call(ctx, "Mul", &Args{A: 10, B: i}, reply); err != nil {
			return fmt.Errorf("call: %w", err)
		}
		fmt.Printf("over KCP: 10 * %d = %d\n", i, reply.C)
	}
	return nil
}
