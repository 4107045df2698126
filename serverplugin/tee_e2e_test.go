package serverplugin_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.b.Bytes()...)
}

func TestTeeConnEndToEnd(t *testing.T) {
	buf := &syncBuffer{}
	_, addr := startServer(t, func(s *server.Server) { s.Plugins.Add(serverplugin.NewTeeConnPlugin(buf)) })
	if err := callOnce(t, addr); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if len(got) == 0 || got[0] != 0x08 { // rpcx magic number
		t.Fatalf("tee did not start with the rpcx magic number: % x", got[:min(len(got), 16)])
	}
	if !bytes.Contains(got, []byte("Arith")) || !bytes.Contains(got, []byte("Mul")) {
		t.Fatalf("tee lacks the request's names: %q", got)
	}
}
