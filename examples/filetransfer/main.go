// Command filetransfer uploads a file to a server and downloads it back
// with the file transfer service: the server enables a FileTransfer with
// an upload handler (saving into a directory) and a download handler
// (serving from it); the client's SendFile (here rate limited to 4 MiB/s)
// and DownloadFile move the bytes over a separate data connection, in
// bounded memory. It needs no external service:
//
//	go run ./examples/filetransfer
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/share"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "filetransfer:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "courier-files")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store := filepath.Join(dir, "server")
	if err := os.Mkdir(store, 0o700); err != nil {
		return err
	}

	saved := make(chan error, 1)
	save := func(conn net.Conn, args *share.FileTransferArgs) {
		f, err := os.Create(filepath.Join(store, filepath.Base(args.FileName)))
		if err == nil {
			_, err = io.Copy(f, conn) // fails if the client stops before FileSize bytes
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		fmt.Printf("server: received %s (%d bytes, meta %v): %v\n", args.FileName, args.FileSize, args.Meta, err)
		saved <- err
	}
	serve := func(conn net.Conn, args *share.DownloadFileArgs) {
		f, err := os.Open(filepath.Join(store, filepath.Base(args.FileName)))
		if err != nil {
			return // closing without data: the client gets an empty file
		}
		defer f.Close()
		_, _ = io.Copy(conn, f)
	}

	s := server.NewServer()
	s.EnableFileTransfer(share.SendFileServiceName, server.NewFileTransfer("127.0.0.1:0", save, serve, 100))
	errc := make(chan error, 1)
	go func() { errc <- s.Serve("tcp", "127.0.0.1:0") }()
	<-s.Started
	defer func() { s.Close(); <-errc }()

	// A 1 MiB file to upload.
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	local := filepath.Join(dir, "report.bin")
	if err := os.WriteFile(local, data, 0o600); err != nil {
		return err
	}

	d, err := client.NewPeer2PeerDiscovery("tcp@"+s.Address().String(), "")
	if err != nil {
		return err
	}
	xclient := client.NewXClient(share.SendFileServiceName, client.Failtry, client.RandomSelect, d, client.DefaultOption)
	defer xclient.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := xclient.SendFile(ctx, local, 4<<20, map[string]string{"owner": "alice"}); err != nil {
		return fmt.Errorf("send file: %w", err)
	}
	if err := <-saved; err != nil {
		return err
	}
	fmt.Printf("client: uploaded 1 MiB at 4 MiB/s in %v\n", time.Since(start).Round(10*time.Millisecond))

	var back bytes.Buffer
	if err := xclient.DownloadFile(ctx, "report.bin", &back, nil); err != nil {
		return fmt.Errorf("download file: %w", err)
	}
	fmt.Printf("client: downloaded %d bytes, identical: %v\n", back.Len(), bytes.Equal(back.Bytes(), data))
	if !bytes.Equal(back.Bytes(), data) {
		return fmt.Errorf("downloaded bytes differ")
	}
	return nil
}
