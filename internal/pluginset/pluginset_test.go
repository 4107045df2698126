package pluginset

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

type plugin interface{}

type namer interface{ Name() string }

type named string

func (n named) Name() string { return string(n) }

type hooks struct{ namers []namer }

func (h *hooks) Build(all []plugin) { h.namers = Only[namer](all) }

func names(h *hooks) []string {
	var out []string
	for _, n := range h.namers {
		out = append(out, n.Name())
	}
	return out
}

func TestSet(t *testing.T) {
	var s Set[plugin, hooks, *hooks]
	if len(s.Hooks().namers) != 0 || s.All() != nil {
		t.Fatal("zero Set is not empty")
	}
	s.Add(named("a"))
	s.Add(42)
	s.Add(named("b"))
	s.Add(named("a"))
	if got := names(s.Hooks()); !slices.Equal(got, []string{"a", "b", "a"}) {
		t.Fatalf("hook list %v", got)
	}
	all := s.All()
	if len(all) != 4 || all[1] != 42 {
		t.Fatalf("All %v", all)
	}
	all[0] = named("changed")
	if s.All()[0] != named("a") {
		t.Fatal("All returned the Set's own slice")
	}
	before := s.Hooks()
	s.Remove(named("a"))
	if got := names(s.Hooks()); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after Remove: %v", got)
	}
	if got := names(before); !slices.Equal(got, []string{"a", "b", "a"}) {
		t.Fatalf("an earlier snapshot changed: %v", got)
	}
	s.Remove(named("nope"))
	if len(s.All()) != 2 {
		t.Fatalf("removing an absent plugin changed the list: %v", s.All())
	}
}

func TestSetConcurrent(t *testing.T) {
	var s Set[plugin, hooks, *hooks]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.Add(named(fmt.Sprint(i)))
		}()
		go func() {
			defer wg.Done()
			_ = names(s.Hooks())
		}()
	}
	wg.Wait()
	if n := len(s.Hooks().namers); n != 8 {
		t.Fatalf("%d plugins after 8 concurrent Adds", n)
	}
}
