// Package serverplugin holds rpcx-compatible server plugins. A plugin is any
// value added with server.Server.Plugins.Add; the server calls the hook
// methods it implements (server.PostConnAcceptPlugin, PostReadRequestPlugin,
// PostWriteResponsePlugin, ...) at the matching points of a connection's
// life.
//
// Request and connection plugins:
//
//   - AliasPlugin maps an alias service path and method to a registered one
//     (PostReadRequest); AliasPlugin.ResponsePlugin restores the alias names
//     in responses.
//   - BlacklistPlugin and WhitelistPlugin refuse or admit connections by the
//     client's IP address, exact or by network mask, IPv4 and IPv6
//     (HandleConnAccept).
//   - MetricsPlugin records per-method call counts, errors, latency and
//     in-flight calls, connection counts and registered services into a
//     github.com/rcrowley/go-metrics registry, and exports it as JSON over
//     HTTP, through expvar, to a logger or to Graphite.
//   - RateLimitingPlugin limits accepted connections and
//     ReqRateLimitingPlugin limits requests with token buckets
//     (github.com/juju/ratelimit); a refused request gets the error response
//     server.ErrReqReachLimit, never silence.
//   - TeeConnPlugin copies every byte read from each connection to a writer,
//     for debugging.
//
// Authentication is not a plugin: set server.Server.AuthFunc; the client
// sends its token (XClient.Auth) in request metadata share.AuthKey.
//
// Every plugin here is safe for concurrent use by the server's connections
// once configured; configure it (Alias, fields) before the server starts
// unless a method's documentation says otherwise.
package serverplugin
