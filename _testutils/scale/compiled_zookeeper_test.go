//go:build zookeeper

package scale

func init() { compiled = append(compiled, "zookeeper") }
