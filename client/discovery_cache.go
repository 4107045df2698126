package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/courier-rpc/courier/log"
)

// cacheDiscovery wraps a discovery and keeps the last good list: a list
// with at least threshold servers. When the wrapped discovery offers fewer
// (a registry outage, a lost lease), it serves the last good list instead.
type cacheDiscovery struct {
	inner     ServiceDiscovery
	threshold int
	file      string

	serverList // the last good list

	innerCh   chan []*KVPair
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// CacheDiscovery wraps discovery so that a list with fewer than threshold
// servers is replaced by the last list that had at least threshold. The
// last good list is kept in memory and, when cachedFile is not empty, in
// that file (JSON, written atomically), from which it is loaded at start so
// a client that starts during a registry outage still finds servers. A
// threshold below 1 is taken as 1. The result is safe for concurrent use;
// Close closes the wrapped discovery too.
func CacheDiscovery(threshold int, cachedFile string, discovery ServiceDiscovery) ServiceDiscovery {
	if threshold < 1 {
		threshold = 1
	}
	c := &cacheDiscovery{inner: discovery, threshold: threshold, file: cachedFile, stop: make(chan struct{}), done: make(chan struct{})}
	c.load()
	c.accept(discovery.GetServices())
	c.innerCh = discovery.WatchService()
	go c.forward()
	return c
}

func (c *cacheDiscovery) load() {
	if c.file == "" {
		return
	}
	data, err := os.ReadFile(c.file)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Warnf("client: cache discovery: read %s: %v", c.file, err)
		}
		return
	}
	var pairs []*KVPair
	if err := json.Unmarshal(data, &pairs); err != nil {
		log.Warnf("client: cache discovery: ignoring corrupt cache file %s: %v", c.file, err)
		return
	}
	c.pairs = filterPairs(pairs, nil)
}

func (c *cacheDiscovery) save(pairs []*KVPair) {
	if c.file == "" {
		return
	}
	data, err := json.Marshal(pairs)
	if err == nil {
		tmp := c.file + ".tmp"
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, c.file)
		}
	}
	if err != nil {
		log.Warnf("client: cache discovery: write %s: %v", c.file, err)
	}
}

// accept records pairs when they are good and reports whether they were.
func (c *cacheDiscovery) accept(pairs []*KVPair) bool {
	if len(pairs) < c.threshold {
		return false
	}
	cp := filterPairs(pairs, nil)
	c.mu.Lock()
	c.pairs = cp
	c.mu.Unlock()
	c.save(cp)
	return true
}

func (c *cacheDiscovery) forward() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case pairs, ok := <-c.innerCh:
			if !ok {
				return
			}
			c.accept(pairs)
			c.w.notify(c.GetServices())
		}
	}
}

// Clone wraps a clone of the inner discovery, cached in a file beside this
// one named after the service path.
func (c *cacheDiscovery) Clone(servicePath string) (ServiceDiscovery, error) {
	inner, err := c.inner.Clone(servicePath)
	if err != nil {
		return nil, err
	}
	file := c.file
	if file != "" {
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == os.PathSeparator {
				return '_'
			}
			return r
		}, servicePath)
		file = filepath.Join(filepath.Dir(c.file), filepath.Base(c.file)+"."+name)
	}
	return CacheDiscovery(c.threshold, file, inner), nil
}

// Close closes the wrapped discovery, stops forwarding and closes watchers.
func (c *cacheDiscovery) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		c.inner.RemoveWatcher(c.innerCh)
		c.inner.Close()
		c.closeWatchers()
	})
}
