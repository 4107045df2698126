package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/util"
)

// PingTimeout bounds each probe of Ping and of the WeightedICMP selector.
const PingTimeout = 500 * time.Millisecond

// ErrPing is returned (wrapped) by Ping when no probe could measure the
// round trip.
var ErrPing = errors.New("client: ping failed")

var icmpDenied sync.Once

// Ping measures the round-trip time to host in milliseconds. host is an IP
// or name, optionally with a port ("10.0.0.1:8972"). It sends an ICMP echo
// when the process may open a raw ICMP socket; otherwise (the usual case
// without root or CAP_NET_RAW) it logs that once and, when host has a
// port, measures a TCP connect instead. Each probe is bounded by
// PingTimeout, so Ping never hangs. Errors wrap ErrPing.
func Ping(host string) (rtt int, err error) {
	h, port := host, ""
	if hh, p, e := net.SplitHostPort(host); e == nil {
		h, port = hh, p
	}
	d, err := pingHost(h, port)
	if err != nil {
		return 0, err
	}
	return int(d / time.Millisecond), nil
}

func pingHost(host, port string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), PingTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", host)
	if err == nil && len(ips) > 0 {
		d, ierr := icmpEcho(ips[0], PingTimeout)
		if ierr == nil {
			return d, nil
		}
		err = ierr
	}
	if port == "" {
		return 0, fmt.Errorf("%w: %s: %v", ErrPing, host, err)
	}
	return tcpConnectRTT(net.JoinHostPort(host, port))
}

// tcpConnectRTT measures how long a TCP handshake with addr takes.
func tcpConnectRTT(addr string) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, PingTimeout)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrPing, addr, err)
	}
	d := time.Since(start)
	c.Close()
	return d, nil
}

// icmpEcho sends one ICMP echo request to ip over a raw socket and waits
// for the matching reply.
func icmpEcho(ip net.IP, timeout time.Duration) (time.Duration, error) {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		icmpDenied.Do(func() {
			log.Warnf("client: ICMP ping not permitted (%v); WeightedICMP measures TCP connect time instead", err)
		})
		return 0, err
	}
	defer c.Close()
	id, seq := os.Getpid()&0xffff, rand.IntN(0xffff)
	msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq), 'c', 'o', 'u', 'r', 'i', 'e', 'r', 0}
	cs := icmpChecksum(msg)
	msg[2], msg[3] = byte(cs>>8), byte(cs)
	start := time.Now()
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		return 0, err
	}
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: ip}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		b := buf[:n]
		if n >= 20 && b[0]>>4 == 4 { // some systems leave the IPv4 header
			b = b[int(b[0]&0x0f)*4:]
		}
		if len(b) >= 8 && b[0] == 0 && int(b[4])<<8|int(b[5]) == id && int(b[6])<<8|int(b[7]) == seq {
			return time.Since(start), nil
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// CalculateWeight turns a round-trip time in milliseconds into a weight:
// 191 up to 10ms, 201-rtt up to 200ms, 1 below 1s, 0 from 1s on.
func CalculateWeight(rtt int) int {
	switch {
	case rtt <= 10:
		return 191
	case rtt <= 200:
		return 201 - rtt
	case rtt < 1000:
		return 1
	}
	return 0
}

// weightedICMPSelector is a smooth weighted round robin whose weights come
// from the round-trip time to each server, measured when the servers are
// updated (in parallel, each bounded by PingTimeout). Servers that cannot
// be measured get weight 1; when none can, every server gets weight 1.
type weightedICMPSelector struct {
	mu      sync.Mutex
	servers []*Weighted
	rtt     func(key string) (time.Duration, error)
}

func newWeightedICMPSelector() *weightedICMPSelector {
	return &weightedICMPSelector{rtt: keyRTT}
}

// keyRTT measures the round trip to the server of key. Servers in this
// process (memu, inprocess) and unix sockets are local: 0.
func keyRTT(key string) (time.Duration, error) {
	network, addr := util.SplitNetworkAddress(key)
	switch network {
	case "memu", "inprocess", "unix":
		return 0, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrPing, key, err)
	}
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		port = "" // no TCP fallback for udp-based transports
	}
	return pingHost(host, port)
}

func (s *weightedICMPSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := nextWeighted(s.servers); w != nil {
		return w.Server
	}
	return ""
}

func (s *weightedICMPSelector) UpdateServer(servers map[string]string) {
	keys := sortedKeys(servers)
	ws := make([]*Weighted, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		ws[i] = &Weighted{Server: k, Weight: 1, EffectiveWeight: 1}
		wg.Add(1)
		go func(w *Weighted) {
			defer wg.Done()
			if d, err := s.rtt(w.Server); err == nil {
				w.Weight = CalculateWeight(int(d / time.Millisecond))
				w.EffectiveWeight = w.Weight
			} else {
				log.Debugf("client: weighted icmp: %v (weight 1)", err)
			}
		}(ws[i])
	}
	wg.Wait()
	usable := false
	for _, w := range ws {
		usable = usable || w.EffectiveWeight > 0
	}
	if !usable { // every server is >= 1s away: treat them alike
		for _, w := range ws {
			w.Weight, w.EffectiveWeight = 1, 1
		}
	}
	s.mu.Lock()
	s.servers = ws
	s.mu.Unlock()
}
