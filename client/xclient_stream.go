package client

import (
	"context"
	"io"
	"net"
)

// SendFile uploads the file fileName to the FileTransfer service of this
// XClient's service path (usually share.SendFileServiceName): it calls
// TransferFile (with the fail mode, selector and plugins of Call), dials
// the data address the server returned, sends the token and streams the
// file, at most rateInBytesPerSecond bytes per second when > 0. Memory use
// is one 32 KiB buffer. It returns after the server closed the data
// connection (its handler returned; with servers that keep it open, after
// ctx's deadline or 10s). It fails when ctx ends (ctx.Err()), when the
// connection breaks, and with the RPC's error.
func (x *xClient) SendFile(ctx context.Context, fileName string, rateInBytesPerSecond int64, meta map[string]string) error {
	ctx, oc := x.startObservedCall(ctx, "TransferFile", KindSendFile)
	err := sendFile(ctx, x.dataCall, x.option.ConnectTimeout, fileName, rateInBytesPerSecond, meta)
	oc.end(ctx, err)
	return err
}

// DownloadFile downloads requestFileName from the FileTransfer service of
// this XClient's service path into saveTo, through DownloadFile and a
// data connection like SendFile. It returns nil when the server ended the
// download normally, and an error when ctx ends, the connection is reset
// (the server's handler failed or the transfer was stopped) or saveTo
// fails.
func (x *xClient) DownloadFile(ctx context.Context, requestFileName string, saveTo io.Writer, meta map[string]string) error {
	ctx, oc := x.startObservedCall(ctx, "DownloadFile", KindDownloadFile)
	err := downloadFile(ctx, x.dataCall, x.option.ConnectTimeout, requestFileName, saveTo, meta)
	oc.end(ctx, err)
	return err
}

// Stream opens a raw bidirectional stream to the StreamService of this
// XClient's service path (usually share.StreamServiceName): it calls
// Stream, dials the data address and sends the token. ctx bounds the
// setup only; the caller owns the connection and must close it. A server
// acceptor's refusal is a ServiceError with CodePermissionDenied.
func (x *xClient) Stream(ctx context.Context, meta map[string]string) (net.Conn, error) {
	ctx, oc := x.startObservedCall(ctx, "Stream", KindStream)
	conn, err := openStream(ctx, x.dataCall, x.option.ConnectTimeout, meta)
	oc.end(ctx, err)
	return conn, err
}

func (x *xClient) dataCall(ctx context.Context, serviceMethod string, args, reply interface{}) error {
	return x.Call(ctx, serviceMethod, args, reply)
}
