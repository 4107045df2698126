package server

import (
	"context"
	"net"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/share"
)

// FileTransferHandler receives an uploaded file: it reads the file's bytes
// from conn. When args.FileSize > 0, reads end with io.EOF after that many
// bytes and fail with an error wrapping io.ErrUnexpectedEOF if the client
// goes away before sending them all. conn is closed when the handler
// returns.
type FileTransferHandler func(conn net.Conn, args *share.FileTransferArgs)

// DownloadFileHandler sends the file args.FileName: it writes the bytes to
// conn and returns; conn is then closed, which ends the download. A handler
// that panics, or a FileTransfer stopped mid-way, resets the connection,
// so the client's DownloadFile fails instead of ending early without error.
type DownloadFileHandler func(conn net.Conn, args *share.DownloadFileArgs)

// FileTransfer serves file uploads and downloads next to a Server, as in
// rpcx: the client calls TransferFile or DownloadFile of the service
// registered by EnableFileTransfer and gets a random single-use token and
// the address of the FileTransfer's own TCP listener; it dials that
// address, sends the token and then streams the raw bytes. Transfers are
// bounded in memory (the bytes go through the handler's buffers) and paced
// by TCP flow control. Tokens expire after a minute; at most waitNum of
// them wait at once (older ones are dropped). The data connections are
// plain TCP.
//
// Addr is the listen address ("127.0.0.1:0" picks a free port; Start then
// sets Addr to the address listened on). AdvertiseAddr, when set, is the
// address handed to clients instead (for a listener behind NAT or on
// 0.0.0.0). Set both before Start.
type FileTransfer struct {
	Addr          string
	AdvertiseAddr string

	handler         FileTransferHandler
	downloadHandler DownloadFileHandler
	data            *dataServer
	service         *FileTransferService
}

// FileTransferService is the RPC service of a FileTransfer (methods
// TransferFile and DownloadFile), registered by EnableFileTransfer.
type FileTransferService struct {
	FileTransfer *FileTransfer
}

// uploadToken and downloadToken are the values stored under tokens.
type uploadToken struct{ args *share.FileTransferArgs }
type downloadToken struct{ args *share.DownloadFileArgs }

// NewFileTransfer returns a FileTransfer that listens on addr and runs
// handler for uploads and downloadHandler for downloads (either may be nil:
// that direction is then refused with CodeUnimplemented). waitNum bounds
// the tokens waiting for their connection (<= 0: 1000).
func NewFileTransfer(addr string, handler FileTransferHandler, downloadHandler DownloadFileHandler, waitNum int) *FileTransfer {
	ft := &FileTransfer{Addr: addr, handler: handler, downloadHandler: downloadHandler}
	ft.data = newDataServer("file transfer", waitNum, ft.handle)
	ft.service = &FileTransferService{FileTransfer: ft}
	return ft
}

// Start listens on Addr and serves data connections in the background. It
// returns the listen error; calling it again does nothing, and after Stop
// it fails.
func (s *FileTransfer) Start() error {
	addr, err := s.data.start(s.Addr)
	if err == nil {
		s.Addr = addr
	}
	return err
}

// Stop closes the listener, resets the transfers in progress and waits for
// their handlers to return. Tokens handed out become invalid.
func (s *FileTransfer) Stop() error { return s.data.stop() }

func (s *FileTransfer) handle(conn net.Conn, val any) {
	switch v := val.(type) {
	case uploadToken:
		if v.args.FileSize > 0 {
			conn = &sizedConn{Conn: conn, left: v.args.FileSize}
		}
		s.handler(conn, v.args)
	case downloadToken:
		s.downloadHandler(conn, v.args)
	}
}

func (s *FileTransfer) advertised(addr string) string {
	if s.AdvertiseAddr != "" {
		return s.AdvertiseAddr
	}
	return addr
}

// TransferFile accepts an upload: it replies with a token and the address
// to send the file to. It fails with CodeUnimplemented when the
// FileTransfer has no upload handler, CodeUnavailable when it is not
// started or stopped.
func (s *FileTransferService) TransferFile(ctx context.Context, args *share.FileTransferArgs, reply *share.FileTransferReply) error {
	ft := s.FileTransfer
	if ft.handler == nil {
		return share.NewError(share.CodeUnimplemented, "server: file upload is not served")
	}
	token, addr, err := ft.data.newToken(ft.data.tokenValue(ctx, "TransferFile", uploadToken{args: args.Clone()}))
	if err != nil {
		return withCode(share.CodeUnavailable, err)
	}
	*reply = share.FileTransferReply{Token: token, Addr: ft.advertised(addr)}
	return nil
}

// DownloadFile accepts a download: it replies with a token and the address
// to read the file from. Errors as for TransferFile.
func (s *FileTransferService) DownloadFile(ctx context.Context, args *share.DownloadFileArgs, reply *share.FileTransferReply) error {
	ft := s.FileTransfer
	if ft.downloadHandler == nil {
		return share.NewError(share.CodeUnimplemented, "server: file download is not served")
	}
	token, addr, err := ft.data.newToken(ft.data.tokenValue(ctx, "DownloadFile", downloadToken{args: args.Clone()}))
	if err != nil {
		return withCode(share.CodeUnavailable, err)
	}
	*reply = share.FileTransferReply{Token: token, Addr: ft.advertised(addr)}
	return nil
}

// EnableFileTransfer starts fileTransfer and registers its service under
// serviceName (share.SendFileServiceName, "_filetransfer", when empty);
// clients use NewXClient(serviceName, ...).SendFile and DownloadFile. The
// FileTransfer is stopped when the server shuts down. The server's
// CallObserverPlugins see each upload or download as a call of
// "TransferFile.data" or "DownloadFile.data" on the data connection, with
// the token call's metadata (a trace continues). Errors (listen,
// registration) are logged, as rpcx's signature returns none.
func (s *Server) EnableFileTransfer(serviceName string, fileTransfer *FileTransfer) {
	if serviceName == "" {
		serviceName = share.SendFileServiceName
	}
	if err := fileTransfer.Start(); err != nil {
		log.Errorf("server: enable file transfer: %v", err)
		return
	}
	fileTransfer.data.observe(s.observers, serviceName)
	if err := s.RegisterName(serviceName, fileTransfer.service, ""); err != nil {
		log.Errorf("server: enable file transfer: %v", err)
		_ = fileTransfer.Stop()
		return
	}
	s.RegisterOnShutdown(func(*Server) { _ = fileTransfer.Stop() })
}
