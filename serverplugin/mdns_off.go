//go:build !mdns

package serverplugin

// newMDNSRegistrar fails without the "mdns" build tag, so Start returns
// ErrMDNSNotCompiled and no registrar is ever created.
func newMDNSRegistrar(mdnsConfig) (registrar, error) { return nil, ErrMDNSNotCompiled }
