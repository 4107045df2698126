package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// ErrStreamUnsupported is wrapped by the errors of SendFile, DownloadFile
// and Stream: file transfer and the stream service are not available in
// this version of the XClient yet.
var ErrStreamUnsupported = errors.New("client: file transfer and streams are not available yet")

// SendFile is meant to upload a file to the file-transfer service. It is
// not available yet and returns an error wrapping ErrStreamUnsupported.
func (x *xClient) SendFile(ctx context.Context, fileName string, rateInBytesPerSecond int64, meta map[string]string) error {
	return fmt.Errorf("%w: SendFile %q", ErrStreamUnsupported, fileName)
}

// DownloadFile is meant to download a file from the file-transfer
// service. It is not available yet and returns an error wrapping
// ErrStreamUnsupported.
func (x *xClient) DownloadFile(ctx context.Context, requestFileName string, saveTo io.Writer, meta map[string]string) error {
	return fmt.Errorf("%w: DownloadFile %q", ErrStreamUnsupported, requestFileName)
}

// Stream is meant to open a raw stream to the stream service. It is not
// available yet and returns an error wrapping ErrStreamUnsupported.
func (x *xClient) Stream(ctx context.Context, meta map[string]string) (net.Conn, error) {
	return nil, fmt.Errorf("%w: Stream", ErrStreamUnsupported)
}
