package client

import (
	"context"
	"strconv"
	"sync"

	"github.com/courier-rpc/courier/util"
)

// Weighted is one server of a smooth weighted round robin: its configured
// Weight, and the CurrentWeight and EffectiveWeight of nginx's algorithm.
type Weighted struct {
	Server          string
	Weight          int
	CurrentWeight   int
	EffectiveWeight int
}

// nextWeighted runs one step of nginx's smooth weighted round robin: every
// server's current weight grows by its effective weight, the largest wins
// and gives back the total. It returns nil when no server has a positive
// weight.
func nextWeighted(servers []*Weighted) *Weighted {
	var best *Weighted
	total := 0
	for _, w := range servers {
		if w.EffectiveWeight <= 0 {
			continue
		}
		w.CurrentWeight += w.EffectiveWeight
		total += w.EffectiveWeight
		if best == nil || w.CurrentWeight > best.CurrentWeight {
			best = w
		}
	}
	if best != nil {
		best.CurrentWeight -= total
	}
	return best
}

// weightOf reads the "weight" metadata of a server: missing, malformed or
// non-positive weights count as 1.
func weightOf(meta string) int {
	w, err := strconv.Atoi(util.ConvertMeta2Map(meta)["weight"])
	if err != nil || w <= 0 {
		return 1
	}
	return w
}

// weightedRoundRobinSelector is nginx's smooth weighted round robin over
// the servers' "weight" metadata: weights {5,1,1} give a,a,b,a,c,a,a.
type weightedRoundRobinSelector struct {
	mu      sync.Mutex
	servers []*Weighted
}

func newWeightedRoundRobinSelector() *weightedRoundRobinSelector {
	return &weightedRoundRobinSelector{}
}

func (s *weightedRoundRobinSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := nextWeighted(s.servers); w != nil {
		return w.Server
	}
	return ""
}

func (s *weightedRoundRobinSelector) UpdateServer(servers map[string]string) {
	ws := make([]*Weighted, 0, len(servers))
	for _, k := range sortedKeys(servers) {
		w := weightOf(servers[k])
		ws = append(ws, &Weighted{Server: k, Weight: w, EffectiveWeight: w})
	}
	s.mu.Lock()
	s.servers = ws
	s.mu.Unlock()
}
