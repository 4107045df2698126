//go:build consul

package scale

func init() { compiled = append(compiled, "consul") }
