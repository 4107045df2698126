// Command stream opens raw bidirectional streams next to an rpcx service:
// the server enables a StreamService whose acceptor checks the stream's
// metadata and whose handler echoes lines in upper case; the client's
// XClient.Stream returns a net.Conn to read and write freely. It needs no
// external service:
//
//	go run ./examples/stream
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

// upper echoes each line in upper case until the client closes the stream.
func upper(conn net.Conn, args *share.StreamServiceArgs) {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(conn, strings.ToUpper(line)); err != nil {
			return
		}
	}
}

// onlyKnown accepts streams whose metadata names a known user.
func onlyKnown(ctx context.Context, args *share.StreamServiceArgs) bool {
	return args.Meta["user"] == "alice"
}

func run() error {
	s := server.NewServer()
	s.EnableStreamService(share.StreamServiceName, server.NewStreamService("127.0.0.1:0", upper, onlyKnown, 100))
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient(share.StreamServiceName, client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()

	conn, err := xclient.Stream(context.Background(), map[string]string{"user": "alice"})
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, line := range []string{"hello\n", "streams are plain net.Conns\n"} {
		if _, err := io.WriteString(conn, line); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		fmt.Print("echo: ", got)
	}

	_, err = xclient.Stream(context.Background(), map[string]string{"user": "mallory"})
	fmt.Printf("mallory's stream: %v (code %v)\n", err, share.CodeOf(err))
	if share.CodeOf(err) != share.CodePermissionDenied {
		return fmt.Errorf("mallory's stream was not refused")
	}
	return nil
}
