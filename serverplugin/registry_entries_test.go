package serverplugin

import (
	"testing"
)

func TestMergeMetadata(t *testing.T) {
	cases := []struct {
		name, stored, prevOwn, own, want string
	}{
		{"tps update keeps an operator's state", "weight=10&state=inactive&tps=0", "weight=10&tps=0", "weight=10&tps=7", "weight=10&tps=7&state=inactive"},
		{"edited own key kept while unchanged", "state=inactive&tps=0&weight=3", "weight=10&tps=0", "weight=10&tps=5", "weight=3&tps=5&state=inactive"},
		{"own key changed by the plugin wins", "weight=3", "weight=10", "weight=20", "weight=20"},
		{"own key removed by someone stays removed", "group=a", "weight=10&group=a", "weight=10&group=a", "group=a"},
		{"key the plugin dropped is removed", "weight=10&x=1&state=inactive", "weight=10&x=1", "weight=10", "weight=10&state=inactive"},
		{"repeated keys are one key", "tags=a&tags=b&state=inactive", "tags=a&tags=b", "tags=a&tags=b&tps=1", "tags=a&tags=b&tps=1&state=inactive"},
		{"escaped values are kept as written", "group=a%26b&tps=0", "tps=0", "tps=2", "tps=2&group=a%26b"},
		{"empty own", "state=inactive", "", "", "state=inactive"},
		{"nothing stored", "", "weight=1", "weight=1&tps=3", "tps=3"},
	}
	for _, c := range cases {
		if got := mergeMetadata(c.stored, c.prevOwn, c.own); got != c.want {
			t.Errorf("%s: mergeMetadata(%q, %q, %q) = %q, want %q", c.name, c.stored, c.prevOwn, c.own, got, c.want)
		}
	}
}

func TestEntrySetMergedValue(t *testing.T) {
	var s entrySet
	if err := s.set("Arith", "weight=10"); err != nil {
		t.Fatal(err)
	}
	// Never published: the plugin's value as is, whatever is stored.
	if got := s.mergedValue("Arith", "weight=10", "state=inactive", true); got != "weight=10" {
		t.Fatalf("first write = %q, want weight=10", got)
	}
	s.wrote("Arith", "weight=10", "weight=10&state=inactive")
	// Entry gone (lease expired): merged into the last value written.
	if got := s.mergedValue("Arith", "weight=10&tps=1", "", false); got != "weight=10&tps=1&state=inactive" {
		t.Fatalf("after expiry = %q", got)
	}
	s.remove("Arith")
	_ = s.set("Arith", "weight=10")
	if got := s.mergedValue("Arith", "weight=10", "state=inactive", true); got != "weight=10" {
		t.Fatalf("re-registered = %q, want weight=10", got)
	}
}

func TestEntrySetReadiness(t *testing.T) {
	var s entrySet
	calls := 0
	s.watch(func() { calls++ })
	if !s.published() {
		t.Fatal("no service: published() = false, want true")
	}
	_ = s.set("A", "")
	_ = s.set("B", "")
	if s.published() || calls != 1 {
		t.Fatalf("two unpublished services: published() = %v, notifications %d, want false, 1", s.published(), calls)
	}
	s.wrote("A", "", "")
	if s.published() || calls != 1 {
		t.Fatalf("one of two published: published() = %v, notifications %d", s.published(), calls)
	}
	s.wrote("B", "", "")
	if !s.published() || calls != 2 {
		t.Fatalf("both published: published() = %v, notifications %d, want true, 2", s.published(), calls)
	}
	_ = s.replace("A", "weight=2")
	if !s.published() || calls != 2 {
		t.Fatalf("UpdateMetadata changed readiness: %v, %d", s.published(), calls)
	}
	_ = s.set("C", "")
	s.wrote("Gone", "", "") // not registered: ignored
	if s.published() || calls != 3 {
		t.Fatalf("a new service: published() = %v, notifications %d, want false, 3", s.published(), calls)
	}
	s.remove("C")
	if !s.published() || calls != 4 {
		t.Fatalf("unpublished service removed: published() = %v, notifications %d, want true, 4", s.published(), calls)
	}
}
