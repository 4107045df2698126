package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// needProtoc returns the path of protoc, skipping the test when it is
// missing unless COURIER_REQUIRE_PROTOC is set (make test sets it after
// installing protoc), in which case the test fails.
func needProtoc(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("COURIER_REQUIRE_PROTOC") != "" {
			t.Fatal("protoc not found and COURIER_REQUIRE_PROTOC is set: run scripts/testenv.sh install")
		}
		t.Skip("protoc not found: install Debian's protobuf-compiler (scripts/testenv.sh install does), or run make test")
	}
	return p
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// plugins builds protoc-gen-go and protoc-gen-courier into a directory and
// returns it, for protoc's PATH.
func plugins(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	goCmd(t, ".", "build", "-o", filepath.Join(bin, "protoc-gen-go"), "google.golang.org/protobuf/cmd/protoc-gen-go")
	goCmd(t, ".", "build", "-o", filepath.Join(bin, "protoc-gen-courier"), ".")
	return bin
}

func protoc(protocPath, bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(protocPath, args...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd.CombinedOutput()
}

// TestProtoc runs the real protoc with both plugins on
// testdata/roundtrip.proto into a fresh directory inside the module, checks
// that the output is the committed one, and vets and tests it there: the
// round-trip test of internal/roundtrippb calls it over TCP. About 20 s
// with a warm build cache.
func TestProtoc(t *testing.T) {
	protocPath := needProtoc(t)
	bin := plugins(t)
	dir, err := os.MkdirTemp(filepath.Join("internal", "roundtrippb"), "_protoc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out, err := protoc(protocPath, bin, "-I", "testdata",
		"--go_out="+dir, "--go_opt=paths=source_relative",
		"--courier_out="+dir, "--courier_opt=paths=source_relative", "roundtrip.proto")
	if err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "roundtrip_courier.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if normalize(string(got)) != normalize(string(want)) {
		t.Fatalf("protoc's output differs from %s:\n%s", committed, got)
	}
	test, err := os.ReadFile(filepath.Join("internal", "roundtrippb", "roundtrip_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roundtrip_test.go"), test, 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := "./" + filepath.ToSlash(dir)
	goCmd(t, ".", "vet", pkg)
	goCmd(t, ".", "test", "-count=1", pkg)
}

// TestProtocStreaming checks that protoc reports the refusal of a streaming
// rpc as one clear line and fails.
func TestProtocStreaming(t *testing.T) {
	protocPath := needProtoc(t)
	bin := plugins(t)
	out, err := protoc(protocPath, bin, "-I", "testdata", "--courier_out="+t.TempDir(), "streaming.proto")
	if err == nil {
		t.Fatalf("protoc accepted a streaming rpc:\n%s", out)
	}
	if !bytes.Contains(out, []byte("rpc courier.test.streaming.Chat.Talk is streaming (bidirectional streaming)")) {
		t.Fatalf("protoc output %q", out)
	}
}
