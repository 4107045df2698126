package registryadmin

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Metadata keys the package knows by name (rpcx's, read by XClients and
// selectors); any other key is kept as is.
const (
	KeyState     = "state"
	KeyWeight    = "weight"
	KeyGroup     = "group"
	KeyTags      = "tags"
	KeyLatitude  = "latitude"
	KeyLongitude = "longitude"
)

// Fields is a server's metadata split into the fields rpcx gives a meaning
// to. Active is false only for state=inactive; Weight is 0 when absent or
// not a positive integer (XClients then count 1).
type Fields struct {
	Active    bool              `json:"active"`
	Weight    int               `json:"weight"`
	Group     string            `json:"group"`
	Tags      []string          `json:"tags,omitempty"`
	Latitude  string            `json:"latitude,omitempty"`
	Longitude string            `json:"longitude,omitempty"`
	Other     map[string]string `json:"other,omitempty"`
}

// ParseMetadata splits raw metadata into Fields. Metadata that is not a
// valid query string gives an error wrapping ErrBadMetadata.
func ParseMetadata(raw string) (Fields, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return Fields{Active: true}, fmt.Errorf("%w: %q: %v", ErrBadMetadata, raw, err)
	}
	f := Fields{Active: v.Get(KeyState) != "inactive", Group: v.Get(KeyGroup),
		Latitude: v.Get(KeyLatitude), Longitude: v.Get(KeyLongitude)}
	if w, err := strconv.Atoi(v.Get(KeyWeight)); err == nil && w > 0 {
		f.Weight = w
	}
	for _, t := range strings.Split(v.Get(KeyTags), ",") {
		if t = strings.TrimSpace(t); t != "" {
			f.Tags = append(f.Tags, t)
		}
	}
	for k, vs := range v {
		switch k {
		case KeyState, KeyWeight, KeyGroup, KeyTags, KeyLatitude, KeyLongitude:
			continue
		}
		if f.Other == nil {
			f.Other = map[string]string{}
		}
		f.Other[k] = strings.Join(vs, ",")
	}
	return f, nil
}

// Change is an edit of a server's metadata; nil fields are left as they
// are. Set values replace a key, an empty value removes it.
type Change struct {
	Active *bool   `json:"active,omitempty"`
	Weight *int    `json:"weight,omitempty"`
	Group  *string `json:"group,omitempty"`
	Tags   *string `json:"tags,omitempty"`
}

// Empty reports a change that edits nothing.
func (c Change) Empty() bool {
	return c.Active == nil && c.Weight == nil && c.Group == nil && c.Tags == nil
}

// Validate checks the change: a weight from 1 to 1,000,000 (0 removes the
// key), a group and tags without '&', '=' or control characters. Errors
// wrap ErrBadMetadata.
func (c Change) Validate() error {
	if c.Empty() {
		return fmt.Errorf("%w: the change edits nothing", ErrBadMetadata)
	}
	if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 1_000_000) {
		return fmt.Errorf("%w: weight %d is not between 1 and 1000000 (0 removes it)", ErrBadMetadata, *c.Weight)
	}
	for name, s := range map[string]*string{"group": c.Group, "tags": c.Tags} {
		if s != nil && strings.ContainsFunc(*s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%w: %s %q has control characters", ErrBadMetadata, name, *s)
		}
	}
	return nil
}

// Apply returns raw with the change made. Keys it does not touch keep
// their values; the result is encoded with sorted keys (url.Values.Encode). A raw value that
// is not a query string gives an error wrapping ErrBadMetadata.
func (c Change) Apply(raw string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", fmt.Errorf("%w: stored metadata %q: %v", ErrBadMetadata, raw, err)
	}
	if c.Active != nil {
		if *c.Active {
			v.Del(KeyState)
		} else {
			v.Set(KeyState, "inactive")
		}
	}
	setOrDel := func(k, s string) {
		if s == "" {
			v.Del(k)
		} else {
			v.Set(k, s)
		}
	}
	if c.Weight != nil {
		setOrDel(KeyWeight, strconv.Itoa(*c.Weight))
		if *c.Weight == 0 {
			v.Del(KeyWeight)
		}
	}
	if c.Group != nil {
		setOrDel(KeyGroup, strings.TrimSpace(*c.Group))
	}
	if c.Tags != nil {
		setOrDel(KeyTags, strings.TrimSpace(*c.Tags))
	}
	return v.Encode(), nil
}
