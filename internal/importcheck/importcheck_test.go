// Package importcheck enforces the import rules of DESIGN.md §4 on the
// whole module with `go list -deps -json`: leaves import nothing of ours,
// share imports only leaves, server and client never import each other, and
// core packages use only the allowed third-party modules.
package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/courier-rpc/courier"

// allowedModules are the third-party modules core packages may import
// (DESIGN.md §4), with the modules those depend on.
var allowedModules = []string{
	"github.com/vmihailenco/msgpack/v5",
	"github.com/vmihailenco/tagparser/v2", // msgpack
	"google.golang.org/protobuf",
	"github.com/rubyist/circuitbreaker",
	"github.com/cenk/backoff",     // circuitbreaker
	"github.com/cenkalti/backoff", // circuitbreaker (renamed import path)
	"github.com/facebookgo/clock", // circuitbreaker
	"github.com/peterbourgon/g2s", // circuitbreaker's statsd client
	"github.com/juju/ratelimit",
	"github.com/rcrowley/go-metrics",
	// rs/cors does server.SetCORS's checks: it is the library rpcx uses
	// for the same options, well kept, and has no dependencies of its own
	// (it replaced 200 lines of our own CORS code).
	"github.com/rs/cors",
}

// rule says which of our packages a core package may import.
type rule struct {
	pkg   string   // relative to the module; "" is the module root
	ours  []string // allowed packages of ours (relative), besides its own subpackages
	tree  bool     // the rule covers pkg's subpackages too
	never []string // packages of ours it must never import (relative prefixes)
}

// leaves import nothing of ours. errors (MultiError) is one too: rpcx's
// client returns it from Broadcast; internal/pluginset is the plugin list
// both server and client containers are built on, internal/cacheline the
// padding both use against false sharing.
var leaves = []string{"protocol", "codec", "log", "util", "util/memconn", "util/wsconn", "errors", "internal/pluginset", "internal/cacheline"}

var rules = []rule{
	{pkg: "protocol"},
	{pkg: "codec"},
	{pkg: "log"},
	{pkg: "util"},
	{pkg: "util/memconn"},
	{pkg: "util/wsconn"},
	{pkg: "errors"},
	{pkg: "internal/pluginset"},
	{pkg: "internal/cacheline"},
	{pkg: "share", ours: leaves},
	{pkg: "server", ours: append(slices.Clone(leaves), "share"), tree: true, never: []string{"client"}},
	{pkg: "client", ours: append(slices.Clone(leaves), "share"), tree: true, never: []string{"server"}},
}

type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Deps       []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// listAll returns the packages of the whole module and their dependencies
// by import path, running go list once per test binary.
func listAll(t *testing.T) map[string]*listedPackage {
	t.Helper()
	r := goList()
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.pkgs
}

type listResult struct {
	pkgs map[string]*listedPackage
	skip string // reason to skip, when go list cannot run here
	err  error
}

var goList = sync.OnceValue(func() listResult {
	pkgs, skip, err := runGoList()
	return listResult{pkgs, skip, err}
})

func runGoList() (map[string]*listedPackage, string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, "go command not found", nil
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return nil, "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return nil, "not inside the module", nil
	}
	cmd := exec.Command(goBin, "list", "-e", "-deps", "-json", "./...")
	cmd.Dir = filepath.Dir(gomod)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err = cmd.Output(); err != nil {
		return nil, "", fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, "", fmt.Errorf("decode go list output: %w", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs, "", nil
}

func isOurs(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func under(relPath, prefix string) bool {
	return relPath == prefix || strings.HasPrefix(relPath, prefix+"/")
}

func TestImportRules(t *testing.T) {
	pkgs := listAll(t)
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			var covered []*listedPackage
			for path, p := range pkgs {
				if !isOurs(path) {
					continue
				}
				if rp := rel(path); rp == r.pkg || (r.tree && under(rp, r.pkg)) {
					covered = append(covered, p)
				}
			}
			if len(covered) == 0 {
				t.Skipf("package %s does not exist yet", r.pkg)
			}
			for _, p := range covered {
				if p.Error != nil {
					t.Logf("%s has errors (checking what go list resolved): %s", p.ImportPath, p.Error.Err)
				}
				for _, v := range violations(r, p, pkgs) {
					t.Error(v)
				}
			}
		})
	}
}

// violations lists how p breaks r.
func violations(r rule, p *listedPackage, pkgs map[string]*listedPackage) []string {
	var bad []string
	self := rel(p.ImportPath)
	for _, dep := range p.Deps {
		d := pkgs[dep]
		switch {
		case isOurs(dep):
			rd := rel(dep)
			never := false
			for _, n := range r.never {
				if under(rd, n) {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s and %s must never import each other", self, rd, r.pkg, n))
					never = true
				}
			}
			if never || (r.tree && under(rd, r.pkg)) {
				continue
			}
			if !slices.Contains(r.ours, rd) {
				bad = append(bad, fmt.Sprintf("%s imports %s; of ours it may import only %v", self, rd, r.ours))
			}
		case d != nil && d.Standard:
		case strings.HasPrefix(dep, "vendor/") || !strings.Contains(strings.SplitN(dep, "/", 2)[0], "."):
			// standard library (vendored, or unresolved but dotless)
		default:
			if mod := moduleOf(dep, d); !slices.Contains(allowedModules, mod) {
				bad = append(bad, fmt.Sprintf("%s depends on %s (module %s), which is not in the allowed list", self, dep, mod))
			}
		}
	}
	return bad
}

// moduleOf returns the module path of dep, falling back to the longest
// allowed module that prefixes it when go list could not resolve it.
func moduleOf(dep string, d *listedPackage) string {
	if d != nil && d.Module != nil {
		return d.Module.Path
	}
	for _, m := range allowedModules {
		if dep == m || strings.HasPrefix(dep, m+"/") {
			return m
		}
	}
	return dep
}

// TestNoRpcxDependency: the main module must not depend on rpcx itself
// (only separate modules such as compat/ may).
func TestNoRpcxDependency(t *testing.T) {
	pkgs := listAll(t)
	for path, p := range pkgs {
		if !isOurs(path) {
			continue
		}
		for _, dep := range p.Deps {
			if dep == "github.com/smallnest/rpcx" || strings.HasPrefix(dep, "github.com/smallnest/rpcx/") {
				t.Errorf("%s depends on %s", rel(path), dep)
			}
		}
	}
}

// TestRulesCatchViolations checks the checker on synthetic packages, so a
// broken rule cannot pass silently.
func TestRulesCatchViolations(t *testing.T) {
	std := &listedPackage{ImportPath: "fmt", Standard: true}
	quic := &listedPackage{ImportPath: "github.com/quic-go/quic-go", Module: &struct{ Path string }{"github.com/quic-go/quic-go"}}
	msgpack := &listedPackage{ImportPath: "github.com/vmihailenco/msgpack/v5", Module: &struct{ Path string }{"github.com/vmihailenco/msgpack/v5"}}
	pkgs := map[string]*listedPackage{"fmt": std, quic.ImportPath: quic, msgpack.ImportPath: msgpack}
	ruleOf := func(name string) rule {
		for _, r := range rules {
			if r.pkg == name {
				return r
			}
		}
		t.Fatalf("no rule %s", name)
		return rule{}
	}
	tests := []struct {
		name string
		rule string
		pkg  string
		deps []string
		bad  bool
	}{
		{"leaf std only", "protocol", "protocol", []string{"fmt"}, false},
		{"leaf imports share", "protocol", "protocol", []string{module + "/share"}, true},
		{"util imports memconn", "util", "util", []string{module + "/util/memconn"}, true},
		{"errors imports log", "errors", "errors", []string{module + "/log"}, true},
		{"server imports errors", "server", "server", []string{module + "/errors", "fmt"}, false},
		{"codec msgpack", "codec", "codec", []string{msgpack.ImportPath}, false},
		{"share imports leaves", "share", "share", []string{module + "/codec", module + "/protocol"}, false},
		{"share imports server", "share", "share", []string{module + "/server"}, true},
		{"server imports client", "server", "server", []string{module + "/client"}, true},
		{"client subpackage imports server", "client", "client/x", []string{module + "/server"}, true},
		{"client imports its subpackage", "client", "client", []string{module + "/client/x", module + "/share"}, false},
		{"server imports serverplugin", "server", "server", []string{module + "/serverplugin"}, true},
		{"server imports quic", "server", "server", []string{quic.ImportPath}, true},
	}
	for _, tt := range tests {
		p := &listedPackage{ImportPath: module + "/" + tt.pkg, Deps: tt.deps}
		if got := violations(ruleOf(tt.rule), p, pkgs); (len(got) > 0) != tt.bad {
			t.Errorf("%s: violations %q, want any: %t", tt.name, got, tt.bad)
		}
	}
}

// TestOTelAPIOnly: outside tests and examples, the main module uses the
// OpenTelemetry API only; the SDK is the program's choice.
func TestOTelAPIOnly(t *testing.T) {
	pkgs := listAll(t)
	for path, p := range pkgs {
		if !isOurs(path) || under(rel(path), "examples") {
			continue
		}
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters") {
				t.Errorf("%s depends on %s: only the OTel API is allowed outside tests and examples", rel(path), dep)
			}
		}
	}
}
