package registryadmin

import (
	"errors"
	"slices"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Target
	}{
		{"etcd://127.0.0.1:2379/rpcx_test", Target{KindEtcd, []string{"127.0.0.1:2379"}, "rpcx_test"}},
		{"etcd://a:1,b:2, c:3/x/y/", Target{KindEtcd, []string{"a:1", "b:2", "c:3"}, "x/y"}},
		{"zookeeper://127.0.0.1:2181/rpcx", Target{KindZooKeeper, []string{"127.0.0.1:2181"}, "rpcx"}},
		{"zk://[::1]:2181", Target{KindZooKeeper, []string{"[::1]:2181"}, ""}},
		{"consul://127.0.0.1:8500/base?x=1", Target{KindConsul, []string{"127.0.0.1:8500"}, "base"}},
	}
	for _, c := range good {
		got, err := ParseURL(c.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.in, err)
			continue
		}
		if got.Kind != c.want.Kind || got.BasePath != c.want.BasePath || !slices.Equal(got.Addrs, c.want.Addrs) {
			t.Errorf("ParseURL(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, in := range []string{"", "127.0.0.1:2379", "redis://h:1/x", "etcd:///base", "etcd://host/base", "consul://a:1,b:2/x", "etcd://h:1/%zz"} {
		if _, err := ParseURL(in); !errors.Is(err, ErrBadURL) {
			t.Errorf("ParseURL(%q) error = %v, want ErrBadURL", in, err)
		}
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	f, err := ParseMetadata("state=inactive&weight=3&group=blue&tags=a,+b&latitude=1.5&longitude=2&tps=7")
	if err != nil {
		t.Fatal(err)
	}
	if f.Active || f.Weight != 3 || f.Group != "blue" || !slices.Equal(f.Tags, []string{"a", "b"}) ||
		f.Latitude != "1.5" || f.Longitude != "2" || f.Other["tps"] != "7" {
		t.Fatalf("fields = %+v", f)
	}
	if f, _ := ParseMetadata("weight=-2"); !f.Active || f.Weight != 0 {
		t.Fatalf("fields of weight=-2 = %+v", f)
	}
	if _, err := ParseMetadata("a=%zz"); !errors.Is(err, ErrBadMetadata) {
		t.Fatalf("bad metadata error = %v", err)
	}
}

func TestChangeApply(t *testing.T) {
	t.Parallel()
	no, yes, three, zero, grp, none := false, true, 3, 0, "blue", ""
	cases := []struct {
		raw  string
		c    Change
		want string
	}{
		{"", Change{Active: &no}, "state=inactive"},
		{"state=inactive&tps=4", Change{Active: &yes}, "tps=4"},
		{"weight=1&x=y", Change{Weight: &three, Group: &grp}, "group=blue&weight=3&x=y"},
		{"weight=5&group=red", Change{Weight: &zero, Group: &none}, ""},
	}
	for _, c := range cases {
		got, err := c.c.Apply(c.raw)
		if err != nil || got != c.want {
			t.Errorf("Apply(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
	neg, big, ctl := -1, 2_000_000, "a\nb"
	for _, c := range []Change{{}, {Weight: &neg}, {Weight: &big}, {Group: &ctl}} {
		if _, err := c.Apply(""); !errors.Is(err, ErrBadMetadata) {
			t.Errorf("Apply with %+v: error = %v, want ErrBadMetadata", c, err)
		}
	}
	if _, err := (Change{Active: &no}).Apply("%zz"); !errors.Is(err, ErrBadMetadata) {
		t.Errorf("Apply on bad stored metadata: %v", err)
	}
}
