// Package health is courier's health checking service, in the shape of
// grpc.health.v1 and callable by any rpcx client: a service registered
// under the name "Health" (ServiceName) with the methods Check, List and
// Watch, and the states SERVING, NOT_SERVING and SERVICE_UNKNOWN.
//
// The whole server's status (service "") follows Server.Ready: it is
// SERVING once a listener accepts and every ReadinessPlugin (a register
// plugin that has published the server) is ready, and NOT_SERVING from
// the first moment of Shutdown, so load balancers and clients move away
// before the server stops accepting. A registered service has the
// server's status unless SetServingStatus overrides it; any other name is
// SERVICE_UNKNOWN.
//
// Watch is a long poll: the caller sends the status it last saw and the
// call returns when the status differs from it, or after WatchTimeout (or
// the caller's deadline) with the unchanged status; calling it in a loop
// streams every change. It works over every transport and with every rpcx
// client, bidirectional or not.
//
// The same server also answers the HTTP probes GET /healthz and
// GET /readyz on its own port (see server.HealthzPath); they need no
// package. CheckServer is the client side: a one-shot check of one server
// address, as a Kubernetes exec probe or a script would do it. An XClient
// with client.Option.HealthCheck watches every server it discovers with
// Watch and stops selecting those that report NOT_SERVING. The wire types
// (CheckRequest, CheckResponse, Status) are aliases of share's, which the
// client package uses.
package health
