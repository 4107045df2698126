//go:build !etcd

package serverplugin

// etcdRegistrar is empty without the "etcd" build tag: Start fails with
// ErrEtcdNotCompiled, so no registrar is ever created.
type etcdRegistrar struct{}

func newEtcdRegistrar(etcdConfig) (*etcdRegistrar, error) { return nil, ErrEtcdNotCompiled }

func (*etcdRegistrar) stop() error                { return nil }
func (*etcdRegistrar) register(_, _ string) error { return ErrEtcdNotCompiled }
func (*etcdRegistrar) unregister(string) error    { return ErrEtcdNotCompiled }
func (*etcdRegistrar) update(_, _ string) error   { return ErrEtcdNotCompiled }
func (*etcdRegistrar) book() *entrySet            { return &entrySet{} }
