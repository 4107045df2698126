package serverplugin

import (
	"context"
	"sync"
	"time"

	"github.com/courier-rpc/courier/log"
)

// registrarLoop is what the registrars' background loops share: the
// context that stop cancels, the channel the loop closes when it ends, and
// the outage state, so that an outage is logged once when it starts
// (Warn) and once when it ends (Info), whatever the registry. Registrars
// embed it. Its methods are safe for concurrent use.
type registrarLoop struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed by the loop when it returns

	kind    string   // "etcd", "zookeeper", "consul", "mdns" (for logs)
	servers []string // the registry's addresses (for logs)
	addr    string   // the server's ServiceAddress (for logs)

	failMu  sync.Mutex
	failing bool // an outage was logged; log the recovery once
}

func newRegistrarLoop(kind string, servers []string, addr string) registrarLoop {
	ctx, cancel := context.WithCancel(context.Background())
	return registrarLoop{ctx: ctx, cancel: cancel, done: make(chan struct{}), kind: kind, servers: servers, addr: addr}
}

// awaitServer waits until started is closed (a nil started is closed
// already), then sets *ready under mu and reports true; it reports false as
// soon as the registrar stops. Every registrar's loop starts with it, so an
// entry appears only once the server listens (SCENARIOS #12).
func (l *registrarLoop) awaitServer(started <-chan struct{}, mu *sync.Mutex, ready *bool) bool {
	if started != nil {
		select {
		case <-started:
		case <-l.ctx.Done():
			return false
		}
	}
	mu.Lock()
	*ready = true
	mu.Unlock()
	return true
}

// sleep waits d and reports true, or reports false as soon as the
// registrar stops.
func (l *registrarLoop) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// outage logs the first failure of an outage.
func (l *registrarLoop) outage(err error) {
	l.failMu.Lock()
	first := !l.failing
	l.failing = true
	l.failMu.Unlock()
	if first {
		log.Warnf("serverplugin: %s registry %v: cannot keep %s registered (%v); retrying in the background", l.kind, l.servers, l.addr, err)
	}
}

// recovered logs the end of an outage, once.
func (l *registrarLoop) recovered() {
	l.failMu.Lock()
	was := l.failing
	l.failing = false
	l.failMu.Unlock()
	if was {
		log.Infof("serverplugin: %s registry reachable again; %s registered", l.kind, l.addr)
	}
}

// end stops the loop and waits until it has returned.
func (l *registrarLoop) end() {
	l.cancel()
	<-l.done
}
