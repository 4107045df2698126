package log

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

func keepLogger(t *testing.T) {
	t.Helper()
	old := GetLogger()
	t.Cleanup(func() { SetLogger(old) })
}

// recorder is a Logger that records which methods were called.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }

func (r *recorder) Debug(v ...interface{})            { r.add("debug") }
func (r *recorder) Debugf(f string, v ...interface{}) { r.add("debugf") }
func (r *recorder) Info(v ...interface{})             { r.add("info") }
func (r *recorder) Infof(f string, v ...interface{})  { r.add("infof") }
func (r *recorder) Warn(v ...interface{})             { r.add("warn") }
func (r *recorder) Warnf(f string, v ...interface{})  { r.add("warnf") }
func (r *recorder) Error(v ...interface{})            { r.add("error") }
func (r *recorder) Errorf(f string, v ...interface{}) { r.add("errorf") }
func (r *recorder) Fatal(v ...interface{})            { r.add("fatal") }
func (r *recorder) Fatalf(f string, v ...interface{}) { r.add("fatalf") }
func (r *recorder) Panic(v ...interface{})            { r.add("panic") }
func (r *recorder) Panicf(f string, v ...interface{}) { r.add("panicf") }

func TestSetGetLogger(t *testing.T) {
	keepLogger(t)
	r := &recorder{}
	SetLogger(r)
	if GetLogger() != r {
		t.Fatal("GetLogger does not return the logger set")
	}
	Debug(1)
	Debugf("%d", 1)
	Info(1)
	Infof("%d", 1)
	Warn(1)
	Warnf("%d", 1)
	Error(1)
	Errorf("%d", 1)
	Fatal(1)
	Fatalf("%d", 1)
	Panic(1)
	Panicf("%d", 1)
	want := "debug debugf info infof warn warnf error errorf fatal fatalf panic panicf"
	if got := strings.Join(r.lines, " "); got != want {
		t.Fatalf("package functions called %q, want %q", got, want)
	}

	SetDummyLogger()
	if _, ok := GetLogger().(dummyLogger); !ok {
		t.Fatalf("SetDummyLogger set %T", GetLogger())
	}
	Info("discarded")
	Errorf("discarded %d", 1)
	SetLogger(nil)
	if _, ok := GetLogger().(dummyLogger); !ok {
		t.Fatalf("SetLogger(nil) set %T", GetLogger())
	}
	func() {
		defer func() {
			if recover() != "boom 1" {
				t.Error("dummy logger's Panicf does not panic with the message")
			}
		}()
		Panicf("boom %d", 1)
	}()
}

func TestSetLoggerConcurrent(t *testing.T) {
	keepLogger(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				if i%2 == 0 {
					SetLogger(&recorder{})
				} else {
					Debugf("x %d", i)
					_ = GetLogger()
				}
			}
		})
	}
	wg.Wait()
}

func TestDefaultLoggerLevels(t *testing.T) {
	tests := []struct {
		lv   Level
		want []string // tags written, in call order Debug, Info, Warn, Error
	}{
		{LvDebug, []string{"[DEBUG] d1", "[DEBUG] d2", "[INFO] i1", "[INFO] i2", "[WARN] w1", "[WARN] w2", "[ERROR] e1", "[ERROR] e2"}},
		{LvInfo, []string{"[INFO] i1", "[INFO] i2", "[WARN] w1", "[WARN] w2", "[ERROR] e1", "[ERROR] e2"}},
		{LvWarn, []string{"[WARN] w1", "[WARN] w2", "[ERROR] e1", "[ERROR] e2"}},
		{LvError, []string{"[ERROR] e1", "[ERROR] e2"}},
		{LvFatal, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.want, ","), func(t *testing.T) {
			var buf bytes.Buffer
			l := NewDefaultLogger(&buf, "courier ", 0, tt.lv)
			l.Debug("d", 1)
			l.Debugf("d%d", 2)
			l.Info("i", 1)
			l.Infof("i%d", 2)
			l.Warn("w", 1)
			l.Warnf("w%d", 2)
			l.Error("e", 1)
			l.Errorf("e%d", 2)
			var got []string
			for line := range strings.Lines(buf.String()) {
				got = append(got, strings.TrimPrefix(strings.TrimSpace(line), "courier "))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("level %d wrote %q, want %q", tt.lv, got, tt.want)
			}
		})
	}
}

func TestDefaultLoggerPanic(t *testing.T) {
	var buf bytes.Buffer
	l := NewDefaultLogger(&buf, "", 0, LvPanic)
	for _, f := range []func(){func() { l.Panic("p", 1) }, func() { l.Panicf("p%d", 1) }} {
		func() {
			defer func() {
				if r := recover(); r != "p1" && r != "p 1" {
					t.Errorf("recovered %v", r)
				}
			}()
			f()
		}()
	}
	if strings.Count(buf.String(), "[PANIC]") != 2 {
		t.Fatalf("output %q", buf.String())
	}
}

// TestFatalExits runs Fatal in a child process: it must log and exit 1.
func TestFatalExits(t *testing.T) {
	if os.Getenv("COURIER_LOG_FATAL") == "1" {
		l := NewDefaultLogger(os.Stderr, "", 0, LvError)
		l.Fatalf("fatal %s", "here")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFatalExits$")
	cmd.Env = append(os.Environ(), "COURIER_LOG_FATAL=1")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("child: %v, output %q", err, out)
	}
	if !strings.Contains(string(out), "[FATAL] fatal here") {
		t.Fatalf("child output %q", out)
	}
}

func TestSlogAdapterLevels(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime})
	l := NewSlogLogger(slog.New(h))
	l.Debug("d")
	l.Debugf("d%d", 1)
	l.Info("i")
	l.Infof("i%d", 1)
	l.Warn("w", 1)
	l.Warnf("w%d", 2)
	l.Error("e", 1)
	l.Errorf("e%d", 2)
	want := "level=WARN msg=w1\nlevel=WARN msg=w2\nlevel=ERROR msg=e1\nlevel=ERROR msg=e2\n"
	if buf.String() != want {
		t.Fatalf("slog output\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	func() {
		defer func() {
			if recover() != "p1" {
				t.Error("Panicf did not panic with its message")
			}
		}()
		l.Panicf("p%d", 1)
	}()
	if !strings.Contains(buf.String(), "level=ERROR msg=p1") {
		t.Fatalf("Panicf logged %q", buf.String())
	}
}

// Formatting is skipped when the level is disabled.
type countingStringer struct{ n *int }

func (c countingStringer) String() string { *c.n++; return "x" }

func TestSlogAdapterSkipsDisabledFormatting(t *testing.T) {
	var buf bytes.Buffer
	l := NewSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})))
	n := 0
	l.Debugf("%v", countingStringer{&n})
	l.Info(countingStringer{&n})
	if n != 0 || buf.Len() != 0 {
		t.Fatalf("disabled levels formatted %d times, wrote %q", n, buf.String())
	}
}

func TestDefaultIsSlogDefault(t *testing.T) {
	keepLogger(t)
	var buf bytes.Buffer
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	// The default logger reads slog.Default() at each call.
	SetLogger(NewSlogLogger(nil))
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: dropTime})))
	Debugf("hidden")
	Infof("shown %d", 1)
	if buf.String() != "level=INFO msg=\"shown 1\"\n" {
		t.Fatalf("output %q", buf.String())
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
