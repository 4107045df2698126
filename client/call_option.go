package client

import (
	"context"
	"maps"
	"time"

	"github.com/courier-rpc/courier/share"
)

// CallOption changes one call made through a typed client, such as those
// protoc-gen-courier generates. Options are applied in order by
// ApplyCallOptions; they are plain values, safe to share between goroutines.
type CallOption func(*callSettings)

type callSettings struct {
	meta    map[string]string
	resMeta map[string]string
	timeout time.Duration
}

// WithCallMetadata adds md to the request metadata of the call (on top of any
// map already stored under share.ReqMetaDataKey in its context; later keys
// win). md is copied; it is never modified.
func WithCallMetadata(md map[string]string) CallOption {
	return func(s *callSettings) {
		if s.meta == nil {
			s.meta = make(map[string]string, len(md))
		}
		maps.Copy(s.meta, md)
	}
}

// WithResponseMetadata asks for the server's response metadata to be stored
// into md, which must be a non-nil map owned by the caller until the call
// returns.
func WithResponseMetadata(md map[string]string) CallOption {
	return func(s *callSettings) { s.resMeta = md }
}

// WithCallTimeout bounds the call by d (in addition to the deadline of its
// context; the earlier one wins). d <= 0 means no extra bound.
func WithCallTimeout(d time.Duration) CallOption {
	return func(s *callSettings) { s.timeout = d }
}

// ApplyCallOptions returns ctx carrying the settings of opts and a cancel
// function the caller must call when the call returns. With no options it
// returns ctx itself.
func ApplyCallOptions(ctx context.Context, opts ...CallOption) (context.Context, context.CancelFunc) {
	if len(opts) == 0 {
		return ctx, func() {}
	}
	var s callSettings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if s.meta != nil {
		md := s.meta
		if old, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string); len(old) > 0 {
			md = maps.Clone(old)
			maps.Copy(md, s.meta)
		}
		ctx = context.WithValue(ctx, share.ReqMetaDataKey, md)
	}
	if s.resMeta != nil {
		ctx = context.WithValue(ctx, share.ResMetaDataKey, s.resMeta)
	}
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return ctx, func() {}
}
