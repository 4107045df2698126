//go:build !consul

package serverplugin

// newConsulRegistrar fails without the "consul" build tag, so Start returns
// ErrConsulNotCompiled and no registrar is ever created.
func newConsulRegistrar(consulConfig) (registrar, error) { return nil, ErrConsulNotCompiled }
