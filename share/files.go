package share

import "maps"

// FileTransferArgs asks a server to accept an uploaded file.
type FileTransferArgs struct {
	FileName string            `json:"file_name,omitempty"`
	FileSize int64             `json:"file_size,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// Clone returns a copy of args with its own Meta.
func (args FileTransferArgs) Clone() *FileTransferArgs {
	args.Meta = maps.Clone(args.Meta)
	return &args
}

// FileTransferReply tells a client where to connect and which token to send.
type FileTransferReply struct {
	Token []byte `json:"token,omitempty"`
	Addr  string `json:"addr,omitempty"`
}

// DownloadFileArgs asks a server to send a file.
type DownloadFileArgs struct {
	FileName string            `json:"file_name,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// Clone returns a copy of args with its own Meta.
func (args DownloadFileArgs) Clone() *DownloadFileArgs {
	args.Meta = maps.Clone(args.Meta)
	return &args
}

// StreamServiceArgs asks a server to open a stream.
type StreamServiceArgs struct {
	Meta map[string]string `json:"meta,omitempty"`
}

// StreamServiceReply tells a client where to connect and which token to send.
type StreamServiceReply struct {
	Token []byte `json:"token,omitempty"`
	Addr  string `json:"addr,omitempty"`
}
