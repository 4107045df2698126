package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/juju/ratelimit"

	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
)

// Settings of file transfers and streams.
const (
	// fileChunk is the size of the reads and writes of SendFile and
	// DownloadFile: memory per transfer is one chunk.
	fileChunk = 32 << 10
	// fileAckWait bounds how long SendFile waits, after sending the last
	// byte, for the server to close the connection (courier servers close
	// it when the upload handler returns; rpcx servers may never close it)
	// when ctx has no deadline.
	fileAckWait = 10 * time.Second
)

// ErrBadDataAddress is wrapped by the errors of SendFile, DownloadFile and
// Stream when the server replied without a token or address.
var ErrBadDataAddress = errors.New("client: server replied without a data address or token")

// callFunc makes the RPC that hands out a data token.
type callFunc func(ctx context.Context, serviceMethod string, args, reply interface{}) error

// openData dials the data address of a file or stream reply and sends the
// token. Dialing is bounded by ctx and connectTimeout.
func openData(ctx context.Context, connectTimeout time.Duration, addr string, token []byte) (net.Conn, error) {
	if addr == "" || len(token) == 0 {
		return nil, ErrBadDataAddress
	}
	dctx := ctx
	if connectTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial data address %s: %w", addr, err)
	}
	if _, err := conn.Write(token); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: send token to %s: %w", addr, err)
	}
	return conn, nil
}

// watchCtx closes conn when ctx ends; the returned function stops watching
// and reports whether ctx ended (then ctx.Err() is the error to return).
func watchCtx(ctx context.Context, conn net.Conn) func() bool {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return func() bool { return !stop() }
}

// sendFile uploads fileName through the TransferFile RPC.
func sendFile(ctx context.Context, call callFunc, connectTimeout time.Duration, fileName string, rate int64, meta map[string]string) (err error) {
	f, err := os.Open(fileName)
	if err != nil {
		return fmt.Errorf("client: send file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("client: send file: %w", err)
	}
	args := share.FileTransferArgs{FileName: fi.Name(), FileSize: fi.Size(), Meta: meta}
	return transfer(ctx, call, connectTimeout, "TransferFile", &args, func(conn net.Conn) error {
		if err := copyPaced(ctx, conn, io.LimitReader(f, fi.Size()), rate); err != nil {
			return err
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		return waitServerClose(ctx, conn)
	})
}

// transfer makes the RPC method of the file transfer service with args,
// opens the data connection its reply names and runs use on it. ctx ending
// closes the connection; the error is then ctx.Err(). The connection is
// closed when transfer returns.
func transfer(ctx context.Context, call callFunc, connectTimeout time.Duration, method string, args interface{}, use func(net.Conn) error) (err error) {
	reply := &share.FileTransferReply{}
	if err := call(ctx, method, args, reply); err != nil {
		return err
	}
	conn, err := openData(ctx, connectTimeout, reply.Addr, reply.Token)
	if err != nil {
		return err
	}
	defer conn.Close()
	ended := watchCtx(ctx, conn)
	defer func() {
		if ended() {
			err = ctx.Err()
		}
	}()
	return use(conn)
}

// copyPaced copies src to conn in chunks, at most rate bytes per second
// when rate > 0 (juju/ratelimit token bucket, no burst beyond one chunk).
func copyPaced(ctx context.Context, conn net.Conn, src io.Reader, rate int64) error {
	chunk := int64(fileChunk)
	var tb *ratelimit.Bucket
	if rate > 0 {
		chunk = min(chunk, rate)
		tb = ratelimit.NewBucketWithRate(float64(rate), chunk)
	}
	buf := make([]byte, chunk)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if tb != nil {
				if d := tb.Take(int64(n)); d > 0 {
					if err := util.Wait(ctx, d); err != nil {
						return err
					}
				}
			}
			if _, err := conn.Write(buf[:n]); err != nil {
				return fmt.Errorf("client: send file: %w", err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("client: send file: read: %w", rerr)
		}
	}
}

// waitServerClose waits until the server closes the upload connection (its
// handler returned), up to ctx or fileAckWait. A reset means the server
// did not take the whole file.
func waitServerClose(ctx context.Context, conn net.Conn) error {
	deadline := time.Now().Add(fileAckWait)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	var b [1]byte
	for {
		_, err := conn.Read(b[:])
		switch {
		case err == nil:
			continue // a server has nothing to say here: ignore
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
			return nil
		default:
			return fmt.Errorf("client: send file: %w", err)
		}
	}
}

// downloadFile downloads requestFileName through the DownloadFile RPC into
// saveTo. It ends when the server closes the connection; a reset (the
// server's handler failed or was stopped) or a failed write to saveTo is an
// error.
func downloadFile(ctx context.Context, call callFunc, connectTimeout time.Duration, requestFileName string, saveTo io.Writer, meta map[string]string) error {
	if saveTo == nil {
		return errors.New("client: download file: nil writer")
	}
	args := share.DownloadFileArgs{FileName: requestFileName, Meta: meta}
	return transfer(ctx, call, connectTimeout, "DownloadFile", &args, func(conn net.Conn) error {
		return receive(conn, saveTo)
	})
}

// receive copies conn to saveTo in chunks until the server closes conn.
func receive(conn net.Conn, saveTo io.Writer) error {
	buf := make([]byte, fileChunk)
	for {
		n, rerr := conn.Read(buf)
		if n > 0 {
			if _, werr := saveTo.Write(buf[:n]); werr != nil {
				return fmt.Errorf("client: download file: write: %w", werr)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("client: download file: %w", rerr)
		}
	}
}

// openStream opens a raw stream through the Stream RPC. ctx bounds only
// the setup; the caller owns (and closes) the returned connection.
func openStream(ctx context.Context, call callFunc, connectTimeout time.Duration, meta map[string]string) (net.Conn, error) {
	args := share.StreamServiceArgs{Meta: meta}
	reply := &share.StreamServiceReply{}
	if err := call(ctx, "Stream", &args, reply); err != nil {
		return nil, err
	}
	return openData(ctx, connectTimeout, reply.Addr, reply.Token)
}
