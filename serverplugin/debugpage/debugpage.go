// Package debugpage serves /debug/courier: what a server serves and what
// its clients see, as HTML for a person or JSON for a program (?format=json
// or Accept: application/json). Mount it on the server's own port with
// Install, or on an admin address with Handler.
//
// Server view: address, readiness, services and their methods, open
// connections (peer, age, requests in flight), plugins (their Go types) and
// the server's counters. Client view, for each XClient given: its service,
// discovery list (server keys and metadata) and counters (calls, attempts,
// retries, hedges, budget refusals, ejections, overloaded, NOT_SERVING,
// breaker openings), and for XClients that implement client.Introspector
// (those of client.NewXClient) each server's state: selectable or taken out
// by health checking, its health status, outlier ejection, circuit breaker
// state, connection cache state (connected, dialing, draining, backoff)
// and calls in flight.
package debugpage

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/server"
)

// Path is where Install mounts the page.
const Path = "/debug/courier"

// Client is one client whose view the page shows.
type Client struct {
	// Name labels it (e.g. the service it calls).
	Name string
	// XClient supplies the counters and, when it implements
	// client.Introspector, the per-server state; nil: none.
	XClient client.XClient
	// Discovery supplies the server list when XClient is not an
	// Introspector (nil: none).
	Discovery client.ServiceDiscovery
}

// Install mounts the page of s (and clients) at Path on s's port.
func Install(s *server.Server, clients ...Client) {
	s.HandleHTTP(Path, Handler(s, clients...))
}

// Handler returns the page of s (nil: clients only) and clients.
func Handler(s *server.Server, clients ...Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap := Take(s, clients...)
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(snap)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, snap); err != nil {
			http.Error(w, "debugpage: "+err.Error(), http.StatusInternalServerError)
		}
	})
}

// Snapshot is what the page shows.
type Snapshot struct {
	Time    time.Time    `json:"time"`
	Server  *ServerView  `json:"server,omitempty"`
	Clients []ClientView `json:"clients,omitempty"`
}

// ServerView is the server's part of a Snapshot.
type ServerView struct {
	Address     string              `json:"address"`
	Ready       bool                `json:"ready"`
	Services    map[string][]string `json:"services"`
	Connections []ConnView          `json:"connections"`
	Plugins     []string            `json:"plugins"`
	Stats       server.Stats        `json:"stats"`
}

// ConnView is one connection.
type ConnView struct {
	Peer     string `json:"peer"`
	Local    string `json:"local"`
	Age      string `json:"age"`
	InFlight int    `json:"in_flight"`
}

// ClientView is one client's part of a Snapshot.
type ClientView struct {
	Name    string               `json:"name"`
	Servers []ServerEntry        `json:"servers,omitempty"`
	Stats   *client.XClientStats `json:"stats,omitempty"`
	// State is the XClient's own view (client.Introspector), when it has one.
	State *client.XClientState `json:"state,omitempty"`
}

// ServerEntry is one server of a discovery list.
type ServerEntry struct {
	Key      string `json:"key"`
	Metadata string `json:"metadata,omitempty"`
}

// Take returns the current snapshot.
func Take(s *server.Server, clients ...Client) Snapshot {
	now := time.Now()
	snap := Snapshot{Time: now}
	if s != nil {
		sv := &ServerView{Ready: s.Ready(), Services: map[string][]string{}, Stats: s.Stats()}
		if a := s.Address(); a != nil {
			sv.Address = a.Network() + "@" + a.String()
		}
		for _, name := range s.ListServices() {
			sv.Services[name] = s.ListMethods(name)
		}
		for _, c := range s.Connections() {
			sv.Connections = append(sv.Connections, ConnView{Peer: c.Remote, Local: c.Local, Age: now.Sub(c.Since).Round(time.Millisecond).String(), InFlight: c.InFlight})
		}
		for _, p := range s.Plugins.All() {
			sv.Plugins = append(sv.Plugins, fmt.Sprintf("%T", p))
		}
		snap.Server = sv
	}
	for _, c := range clients {
		snap.Clients = append(snap.Clients, clientView(c))
	}
	return snap
}

// clientView is the page's view of one client.
func clientView(c Client) ClientView {
	cv := ClientView{Name: c.Name}
	if in, ok := c.XClient.(client.Introspector); ok {
		st := in.Introspect()
		cv.State, cv.Stats = &st, &st.Stats
		for _, s := range st.Servers {
			cv.Servers = append(cv.Servers, ServerEntry{Key: s.Key, Metadata: s.Metadata})
		}
		return cv
	}
	if c.Discovery != nil {
		for _, kv := range c.Discovery.GetServices() {
			cv.Servers = append(cv.Servers, ServerEntry{Key: kv.Key, Metadata: kv.Value})
		}
		sort.Slice(cv.Servers, func(i, j int) bool { return cv.Servers[i].Key < cv.Servers[j].Key })
	}
	if c.XClient != nil {
		st := c.XClient.Stats()
		cv.Stats = &st
	}
	return cv
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>courier debug</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style>
</head><body>
<h1>courier</h1><p>{{.Time.Format "2006-01-02 15:04:05.000 MST"}} · <a href="?format=json">JSON</a></p>
{{with .Server}}
<h2>Server {{.Address}} — {{if .Ready}}ready{{else}}NOT ready{{end}}</h2>
<h3>Services</h3><table><tr><th>service</th><th>methods</th></tr>
{{range $name, $methods := .Services}}<tr><td>{{$name}}</td><td>{{range $methods}}{{.}} {{end}}</td></tr>{{end}}</table>
<h3>Connections ({{len .Connections}})</h3><table><tr><th>peer</th><th>local</th><th>age</th><th>in flight</th></tr>
{{range .Connections}}<tr><td>{{.Peer}}</td><td>{{.Local}}</td><td>{{.Age}}</td><td>{{.InFlight}}</td></tr>{{end}}</table>
<h3>Plugins</h3><ul>{{range .Plugins}}<li>{{.}}</li>{{end}}</ul>
<h3>Counters</h3><table>
<tr><td>connections accepted</td><td>{{.Stats.ConnsAccepted}}</td></tr><tr><td>connections closed</td><td>{{.Stats.ConnsClosed}}</td></tr>
<tr><td>requests</td><td>{{.Stats.Requests}}</td></tr><tr><td>error responses</td><td>{{.Stats.ErrorResponses}}</td></tr>
<tr><td>panics</td><td>{{.Stats.Panics}}</td></tr><tr><td>protocol errors</td><td>{{.Stats.ProtocolErrors}}</td></tr></table>
{{end}}
{{range .Clients}}<h2>Client {{.Name}}</h2>
{{with .State}}<p>service {{.ServicePath}} · {{.FailMode}} · {{.SelectMode}} · health checking {{if .HealthCheck}}on{{else}}off{{end}}</p>
<table><tr><th>server</th><th>selectable</th><th>health</th><th>ejected</th><th>breaker</th><th>connection</th><th>in flight</th><th>dial failures</th><th>metadata</th></tr>
{{range .Servers}}<tr><td>{{.Key}}</td><td>{{if .Selectable}}yes{{else}}NO{{end}}</td><td>{{with .Health}}{{.Status}}{{with .Error}} ({{.}}){{end}}{{else}}-{{end}}</td><td>{{if .Ejected}}EJECTED{{else}}no{{end}}</td><td>{{or .Breaker "-"}}</td><td>{{.Conn}}{{with .LastError}} ({{.}}){{end}}</td><td>{{.InFlight}}</td><td>{{.DialFailures}}</td><td>{{.Metadata}}</td></tr>{{end}}</table>
{{else}}<table><tr><th>server</th><th>metadata</th></tr>{{range .Servers}}<tr><td>{{.Key}}</td><td>{{.Metadata}}</td></tr>{{end}}</table>{{end}}
{{with .Stats}}<table><tr><td>calls</td><td>{{.Calls}}</td></tr><tr><td>attempts</td><td>{{.Attempts}}</td></tr><tr><td>retries</td><td>{{.Retries}}</td></tr>
<tr><td>transparent retries</td><td>{{.TransparentRetries}}</td></tr><tr><td>hedges</td><td>{{.Hedges}}</td></tr><tr><td>budget exhausted</td><td>{{.BudgetExhausted}}</td></tr>
<tr><td>non-idempotent stops</td><td>{{.NonIdempotentStops}}</td></tr><tr><td>ejections</td><td>{{.Ejections}}</td></tr><tr><td>overloaded</td><td>{{.Overloaded}}</td></tr>
<tr><td>NOT_SERVING</td><td>{{.NotServing}}</td></tr><tr><td>breaker openings</td><td>{{.BreakerOpens}}</td></tr></table>{{end}}
{{end}}
</body></html>
`))
