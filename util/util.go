// Package util holds small helpers shared by servers, clients and plugins:
// metadata string conversion, rpcx address parsing, free ports, external
// IPs, gzip helpers and a size-classed buffer pool.
package util

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unsafe"
)

// ErrBadAddress is returned (wrapped) by ParseRpcxAddress for a malformed address.
var ErrBadAddress = errors.New("util: bad rpcx address")

// ConvertMap2String encodes metadata in URL query form ("a=1&b=2"), the
// form registries and discoveries use.
func ConvertMap2String(meta map[string]string) string {
	v := url.Values{}
	for k, s := range meta {
		v.Set(k, s)
	}
	return v.Encode()
}

// ConvertMeta2Map decodes URL query form metadata; a malformed string gives
// what could be parsed.
func ConvertMeta2Map(meta string) map[string]string {
	m := make(map[string]string)
	if meta == "" {
		return m
	}
	v, _ := url.ParseQuery(meta)
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// CopyMeta copies every entry of src into dst.
func CopyMeta(src, dst map[string]string) {
	if dst == nil {
		return
	}
	for k, v := range src {
		dst[k] = v
	}
}

// ParseRpcxAddress splits "network@host:port" (network defaults to tcp).
func ParseRpcxAddress(addr string) (network string, ip string, port int, err error) {
	network, hostport := "tcp", addr
	if i := strings.Index(addr, "@"); i >= 0 {
		network, hostport = addr[:i], addr[i+1:]
	}
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", "", 0, fmt.Errorf("%w %q: %w", ErrBadAddress, addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", "", 0, fmt.Errorf("%w %q: bad port", ErrBadAddress, addr)
	}
	return network, host, port, nil
}

// SplitNetworkAddress splits "network@address" (network defaults to tcp)
// without interpreting the address, so it also works for unix paths.
func SplitNetworkAddress(s string) (network, address string) {
	if i := strings.Index(s, "@"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "tcp", s
}

// GetFreePort returns a TCP port on 127.0.0.1 that was free when asked.
func GetFreePort() (port int, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ExternalIPV4 returns the first non-loopback IPv4 address of an up interface.
func ExternalIPV4() (string, error) { return externalIP(true) }

// ExternalIPV6 returns the first non-loopback IPv6 address of an up interface.
func ExternalIPV6() (string, error) { return externalIP(false) }

func externalIP(v4 bool) (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() {
				continue
			}
			if (ipn.IP.To4() != nil) == v4 {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", errors.New("util: no external address found")
}

// SliceByteToString returns b as a string without copying. b must not be
// changed afterwards.
func SliceByteToString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// StringToSliceByte returns s as bytes without copying. The bytes must not
// be changed.
func StringToSliceByte(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Zip gzips data.
func Zip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MaxUnzipSize is the most bytes Unzip produces: 16 MiB.
const MaxUnzipSize = 16 << 20

// ErrUnzipTooLarge is returned when Unzip's output would exceed MaxUnzipSize.
var ErrUnzipTooLarge = errors.New("util: unzipped data too large")

// Unzip inflates gzip data, refusing output over MaxUnzipSize.
func Unzip(data []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxUnzipSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxUnzipSize {
		return nil, ErrUnzipTooLarge
	}
	return out, nil
}
