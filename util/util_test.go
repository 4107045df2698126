package util

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net"
	"reflect"
	"strconv"
	"testing"
)

func TestConvertMetaRoundTrip(t *testing.T) {
	tests := []map[string]string{
		{},
		{"a": "1"},
		{"group": "test", "weight": "10", "state": "active"},
		{"sp ace": "a b", "sym&=?": "v&=?#%", "unicode": "数据", "empty": ""},
	}
	for _, meta := range tests {
		s := ConvertMap2String(meta)
		got := ConvertMeta2Map(s)
		if !reflect.DeepEqual(got, meta) {
			t.Errorf("round trip of %v via %q = %v", meta, s, got)
		}
	}
	if s := ConvertMap2String(map[string]string{"b": "2", "a": "1"}); s != "a=1&b=2" {
		t.Errorf("ConvertMap2String is not sorted: %q", s)
	}
	if s := ConvertMap2String(nil); s != "" {
		t.Errorf("ConvertMap2String(nil) = %q", s)
	}
	// Malformed input gives what parses (and never nil).
	if m := ConvertMeta2Map(""); m == nil || len(m) != 0 {
		t.Errorf("empty string: %v", m)
	}
	if m := ConvertMeta2Map("a=1&b=%zz&c=3"); m["a"] != "1" || m["c"] != "3" {
		t.Errorf("malformed: %v", m)
	}
	// A repeated key keeps its first value, as url.Values.Get does.
	if m := ConvertMeta2Map("a=1&a=2"); m["a"] != "1" {
		t.Errorf("repeated key: %v", m)
	}
}

func TestCopyMeta(t *testing.T) {
	dst := map[string]string{"x": "0", "a": "old"}
	CopyMeta(map[string]string{"a": "1", "b": "2"}, dst)
	if !reflect.DeepEqual(dst, map[string]string{"x": "0", "a": "1", "b": "2"}) {
		t.Fatalf("CopyMeta = %v", dst)
	}
	CopyMeta(map[string]string{"a": "1"}, nil) // no panic
	CopyMeta(nil, dst)
}

func TestParseRpcxAddress(t *testing.T) {
	tests := []struct {
		in      string
		network string
		ip      string
		port    int
		ok      bool
	}{
		{"tcp@127.0.0.1:8972", "tcp", "127.0.0.1", 8972, true},
		{"127.0.0.1:8972", "tcp", "127.0.0.1", 8972, true},
		{"tcp@[::1]:8972", "tcp", "::1", 8972, true},
		{"tcp6@[fe80::1%eth0]:1", "tcp6", "fe80::1%eth0", 1, true},
		{"kcp@localhost:0", "kcp", "localhost", 0, true},
		{"quic@example.com:65535", "quic", "example.com", 65535, true},
		{"tcp@:8972", "tcp", "", 8972, true},
		{"tcp@127.0.0.1", "", "", 0, false},
		{"tcp@127.0.0.1:", "", "", 0, false},
		{"tcp@127.0.0.1:port", "", "", 0, false},
		{"tcp@127.0.0.1:65536", "", "", 0, false},
		{"tcp@127.0.0.1:-1", "", "", 0, false},
		{"tcp@::1:8972", "", "", 0, false},
		{"", "", "", 0, false},
		{"tcp@", "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			network, ip, port, err := ParseRpcxAddress(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrBadAddress) {
					t.Fatalf("err = %v, want ErrBadAddress", err)
				}
				return
			}
			if err != nil || network != tt.network || ip != tt.ip || port != tt.port {
				t.Fatalf("= %q %q %d %v; want %q %q %d", network, ip, port, err, tt.network, tt.ip, tt.port)
			}
		})
	}
}

func TestSplitNetworkAddress(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"tcp@127.0.0.1:1", "tcp", "127.0.0.1:1"},
		{"unix@/tmp/a@b.sock", "unix", "/tmp/a@b.sock"},
		{"127.0.0.1:1", "tcp", "127.0.0.1:1"},
		{"memu@name", "memu", "name"},
	}
	for _, tt := range tests {
		if n, a := SplitNetworkAddress(tt.in); n != tt.network || a != tt.addr {
			t.Errorf("SplitNetworkAddress(%q) = %q %q", tt.in, n, a)
		}
	}
}

func TestGetFreePort(t *testing.T) {
	port, err := GetFreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d", port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("free port %d not usable: %v", port, err)
	}
	ln.Close()
}

func TestExternalIP(t *testing.T) {
	for name, f := range map[string]func() (string, error){"v4": ExternalIPV4, "v6": ExternalIPV6} {
		ip, err := f()
		if err != nil {
			t.Logf("%s: %v (no such interface here)", name, err)
			continue
		}
		parsed := net.ParseIP(ip)
		if parsed == nil || parsed.IsLoopback() || (parsed.To4() != nil) != (name == "v4") {
			t.Errorf("%s: %q is not an external %s address", name, ip, name)
		}
	}
}

func TestUnsafeConversions(t *testing.T) {
	b := []byte("hello")
	if s := SliceByteToString(b); s != "hello" {
		t.Fatalf("SliceByteToString = %q", s)
	}
	if b := StringToSliceByte("world"); string(b) != "world" || len(b) != 5 {
		t.Fatalf("StringToSliceByte = %q", b)
	}
	if SliceByteToString(nil) != "" || len(StringToSliceByte("")) != 0 {
		t.Fatal("empty conversions")
	}
	if n := testing.AllocsPerRun(100, func() { _ = SliceByteToString(b) }); n != 0 {
		t.Fatalf("SliceByteToString allocates %v", n)
	}
}

func TestZipUnzip(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("courier "), 1000)} {
		z, err := Zip(data)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Unzip(z)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("round trip of %d bytes: %v, %d bytes", len(data), err, len(out))
		}
	}
	if _, err := Unzip([]byte("not gzip")); err == nil {
		t.Fatal("Unzip of junk succeeded")
	}
	if _, err := Unzip(nil); err == nil {
		t.Fatal("Unzip of nothing succeeded")
	}
}

func TestUnzipLimit(t *testing.T) {
	// Multi-member gzip: each member is 1 MiB of zeros (about 1 KiB).
	var one bytes.Buffer
	w, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := Unzip(bytes.Repeat(one.Bytes(), 2)); err != nil || len(out) != 2<<20 {
		t.Fatalf("2 MiB: %v, %d bytes", err, len(out))
	}
	over := bytes.Repeat(one.Bytes(), MaxUnzipSize>>20+1)
	if _, err := Unzip(over); !errors.Is(err, ErrUnzipTooLarge) {
		t.Fatalf("over MaxUnzipSize: %v", err)
	}
}
