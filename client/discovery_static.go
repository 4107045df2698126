package client

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadDiscovery is returned (wrapped) by discovery constructors given
// unusable arguments.
var ErrBadDiscovery = errors.New("client: bad discovery arguments")

// Peer2PeerDiscovery is a discovery of exactly one server, fixed at
// construction: the client talks to it directly. It is safe for concurrent
// use; its list never changes, so watchers never receive anything
// (GetServices, WatchService, RemoveWatcher and SetFilter are those of
// every discovery: see serverList).
type Peer2PeerDiscovery struct {
	server   string
	metadata string
	serverList
}

// NewPeer2PeerDiscovery returns a discovery of the server
// "network@address" (e.g. "tcp@127.0.0.1:8972") with URL-encoded metadata.
// An empty server gives an error wrapping ErrBadDiscovery.
func NewPeer2PeerDiscovery(server, metadata string) (*Peer2PeerDiscovery, error) {
	if strings.TrimSpace(server) == "" {
		return nil, fmt.Errorf("%w: empty server address", ErrBadDiscovery)
	}
	p := &Peer2PeerDiscovery{server: server, metadata: metadata}
	p.pairs = []*KVPair{{Key: server, Value: metadata}}
	return p, nil
}

// Clone returns a discovery of the same server (a peer serves every path).
func (d *Peer2PeerDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewPeer2PeerDiscovery(d.server, d.metadata)
}

// Close closes every watcher channel.
func (d *Peer2PeerDiscovery) Close() { d.closeWatchers() }

// MultipleServersDiscovery is a discovery of a list of servers set by the
// program, which may change it at run time with Update. It is safe for
// concurrent use.
type MultipleServersDiscovery struct {
	serverList
}

// NewMultipleServersDiscovery returns a discovery of pairs (keys
// "network@address", values URL-encoded metadata). The pairs are copied.
func NewMultipleServersDiscovery(pairs []*KVPair) (*MultipleServersDiscovery, error) {
	for _, p := range pairs {
		if p == nil || strings.TrimSpace(p.Key) == "" {
			return nil, fmt.Errorf("%w: empty server key", ErrBadDiscovery)
		}
	}
	m := &MultipleServersDiscovery{}
	m.pairs = filterPairs(pairs, nil)
	return m, nil
}

// Clone returns a discovery of the same servers.
func (d *MultipleServersDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	return NewMultipleServersDiscovery(d.snapshot())
}

// Update replaces the servers (the pairs are copied) and notifies every
// watcher. Pairs that are nil or have an empty key are ignored.
func (d *MultipleServersDiscovery) Update(pairs []*KVPair) {
	kept := make([]*KVPair, 0, len(pairs))
	for _, p := range pairs {
		if p != nil && strings.TrimSpace(p.Key) != "" {
			kept = append(kept, p)
		}
	}
	d.replace(kept)
}

// Close closes every watcher channel.
func (d *MultipleServersDiscovery) Close() { d.closeWatchers() }
