//go:build etcd

package scale

func init() { compiled = append(compiled, "etcd") }
