package serverplugin

import (
	"errors"
	"sync"
)

// errNoSession is sessionWrites.apply's error when no session is held.
var errNoSession = errors.New("no registry session")

// sessionWrites is what the etcd, ZooKeeper and Consul registrars wrote:
// the session (etcd lease, ZooKeeper session id, Consul session) their
// entries belong to, the plugin's value of each service written under it,
// and the service directories known to exist (they outlive sessions). Its
// methods are safe for concurrent use; apply's callers serialize it.
type sessionWrites[S comparable] struct {
	mu      sync.Mutex
	session S                 // zero: none
	written map[string]string // service -> plugin's value written under session
	dirs    map[string]bool   // services whose directory exists
}

// current returns the session held (zero: none).
func (w *sessionWrites[S]) current() S {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.session
}

// begin makes s the session, with nothing written under it yet; a call
// with the current session changes nothing.
func (w *sessionWrites[S]) begin(s S) {
	w.mu.Lock()
	if s != w.session || w.written == nil {
		w.session = s
		w.written = make(map[string]string)
	}
	w.mu.Unlock()
}

// end forgets the session and what was written under it, and returns the
// session and the services written.
func (w *sessionWrites[S]) end() (S, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.session
	names := make([]string, 0, len(w.written))
	for name := range w.written {
		names = append(names, name)
	}
	var zero S
	w.session, w.written = zero, make(map[string]string)
	return s, names
}

// apply brings the registry in line with vals (service -> plugin's value)
// under the current session: put for every service whose value differs
// from what was written under it, del for every service written but no
// longer in vals. It stops at the first error; errNoSession when no
// session is held.
func (w *sessionWrites[S]) apply(vals map[string]string, put func(name, value string, s S) error, del func(name string) error) error {
	var zero S
	w.mu.Lock()
	s := w.session
	puts, dels := writePlan(vals, w.written)
	w.mu.Unlock()
	if s == zero {
		return errNoSession
	}
	for _, name := range puts {
		if err := put(name, vals[name], s); err != nil {
			return err
		}
		w.mu.Lock()
		if w.session == s {
			w.written[name] = vals[name]
		}
		w.mu.Unlock()
	}
	for _, name := range dels {
		if err := del(name); err != nil {
			return err
		}
		w.mu.Lock()
		delete(w.written, name)
		w.mu.Unlock()
	}
	return nil
}

// ensureDir runs create for service name's directory unless it succeeded
// before.
func (w *sessionWrites[S]) ensureDir(name string, create func() error) error {
	w.mu.Lock()
	done := w.dirs[name]
	w.mu.Unlock()
	if done {
		return nil
	}
	if err := create(); err != nil {
		return err
	}
	w.mu.Lock()
	if w.dirs == nil {
		w.dirs = make(map[string]bool)
	}
	w.dirs[name] = true
	w.mu.Unlock()
	return nil
}
