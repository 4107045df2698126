// Package log is the logger interface of rpcx, backed by log/slog.
//
// Library code logs only what it cannot return (accept-loop errors,
// recovered panics, reconnects). Replace the logger with SetLogger before
// starting servers and clients; the default writes to slog.Default() at
// Info level and above.
package log

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"sync/atomic"
)

// Logger is the logging interface used by courier.
type Logger interface {
	Debug(v ...interface{})
	Debugf(format string, v ...interface{})
	Info(v ...interface{})
	Infof(format string, v ...interface{})
	Warn(v ...interface{})
	Warnf(format string, v ...interface{})
	Error(v ...interface{})
	Errorf(format string, v ...interface{})
	Fatal(v ...interface{})
	Fatalf(format string, v ...interface{})
	Panic(v ...interface{})
	Panicf(format string, v ...interface{})
}

// Level is a log level of the default logger.
type Level int

// Levels, most severe first.
const (
	LvPanic Level = iota
	LvFatal
	LvError
	LvWarn
	LvInfo
	LvDebug
	LvMax
)

type holder struct{ l Logger }

var current atomic.Pointer[holder]

func init() { current.Store(&holder{NewSlogLogger(nil)}) }

// SetLogger replaces the logger. It is safe for concurrent use.
func SetLogger(logger Logger) {
	if logger == nil {
		logger = dummyLogger{}
	}
	current.Store(&holder{logger})
}

// GetLogger returns the current logger.
func GetLogger() Logger { return current.Load().l }

// SetDummyLogger discards all log output.
func SetDummyLogger() { SetLogger(dummyLogger{}) }

// slogLogger adapts a *slog.Logger to Logger.
type slogLogger struct{ l *slog.Logger }

// NewSlogLogger returns a Logger writing to l (nil: slog.Default() at the
// time of each call).
func NewSlogLogger(l *slog.Logger) Logger { return slogLogger{l} }

func (s slogLogger) log(level slog.Level, msg string) {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	l.Log(context.Background(), level, msg)
}

func (s slogLogger) enabled(level slog.Level) bool {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	return l.Enabled(context.Background(), level)
}

func (s slogLogger) logv(level slog.Level, v []interface{}) {
	if s.enabled(level) {
		s.log(level, fmt.Sprint(v...))
	}
}

func (s slogLogger) logf(level slog.Level, format string, v []interface{}) {
	if s.enabled(level) {
		s.log(level, fmt.Sprintf(format, v...))
	}
}

func (s slogLogger) Debug(v ...interface{})                 { s.logv(slog.LevelDebug, v) }
func (s slogLogger) Debugf(format string, v ...interface{}) { s.logf(slog.LevelDebug, format, v) }
func (s slogLogger) Info(v ...interface{})                  { s.logv(slog.LevelInfo, v) }
func (s slogLogger) Infof(format string, v ...interface{})  { s.logf(slog.LevelInfo, format, v) }
func (s slogLogger) Warn(v ...interface{})                  { s.logv(slog.LevelWarn, v) }
func (s slogLogger) Warnf(format string, v ...interface{})  { s.logf(slog.LevelWarn, format, v) }
func (s slogLogger) Error(v ...interface{})                 { s.logv(slog.LevelError, v) }
func (s slogLogger) Errorf(format string, v ...interface{}) { s.logf(slog.LevelError, format, v) }
func (s slogLogger) Fatal(v ...interface{})                 { s.log(slog.LevelError, fmt.Sprint(v...)); os.Exit(1) }
func (s slogLogger) Fatalf(format string, v ...interface{}) {
	s.log(slog.LevelError, fmt.Sprintf(format, v...))
	os.Exit(1)
}
func (s slogLogger) Panic(v ...interface{}) {
	msg := fmt.Sprint(v...)
	s.log(slog.LevelError, msg)
	panic(msg)
}
func (s slogLogger) Panicf(format string, v ...interface{}) {
	msg := fmt.Sprintf(format, v...)
	s.log(slog.LevelError, msg)
	panic(msg)
}

// defaultLogger is rpcx's leveled logger on top of the standard log package.
type defaultLogger struct {
	*stdlog.Logger
	lv Level
}

// NewDefaultLogger returns a leveled logger writing to out with the standard
// log package's prefix and flags; messages less severe than lv are dropped.
func NewDefaultLogger(out io.Writer, prefix string, flag int, lv Level) *defaultLogger {
	return &defaultLogger{Logger: stdlog.New(out, prefix, flag), lv: lv}
}

func (l *defaultLogger) out(lv Level, tag, msg string) {
	if lv <= l.lv {
		_ = l.Output(3, "["+tag+"] "+msg)
	}
}

func (l *defaultLogger) Debug(v ...interface{}) { l.out(LvDebug, "DEBUG", fmt.Sprint(v...)) }
func (l *defaultLogger) Debugf(format string, v ...interface{}) {
	l.out(LvDebug, "DEBUG", fmt.Sprintf(format, v...))
}
func (l *defaultLogger) Info(v ...interface{}) { l.out(LvInfo, "INFO", fmt.Sprint(v...)) }
func (l *defaultLogger) Infof(format string, v ...interface{}) {
	l.out(LvInfo, "INFO", fmt.Sprintf(format, v...))
}
func (l *defaultLogger) Warn(v ...interface{}) { l.out(LvWarn, "WARN", fmt.Sprint(v...)) }
func (l *defaultLogger) Warnf(format string, v ...interface{}) {
	l.out(LvWarn, "WARN", fmt.Sprintf(format, v...))
}
func (l *defaultLogger) Error(v ...interface{}) { l.out(LvError, "ERROR", fmt.Sprint(v...)) }
func (l *defaultLogger) Errorf(format string, v ...interface{}) {
	l.out(LvError, "ERROR", fmt.Sprintf(format, v...))
}
func (l *defaultLogger) Fatal(v ...interface{}) {
	l.out(LvFatal, "FATAL", fmt.Sprint(v...))
	os.Exit(1)
}
func (l *defaultLogger) Fatalf(format string, v ...interface{}) {
	l.out(LvFatal, "FATAL", fmt.Sprintf(format, v...))
	os.Exit(1)
}
func (l *defaultLogger) Panic(v ...interface{}) {
	msg := fmt.Sprint(v...)
	l.out(LvPanic, "PANIC", msg)
	panic(msg)
}
func (l *defaultLogger) Panicf(format string, v ...interface{}) {
	msg := fmt.Sprintf(format, v...)
	l.out(LvPanic, "PANIC", msg)
	panic(msg)
}

type dummyLogger struct{}

func (dummyLogger) Debug(...interface{})          {}
func (dummyLogger) Debugf(string, ...interface{}) {}
func (dummyLogger) Info(...interface{})           {}
func (dummyLogger) Infof(string, ...interface{})  {}
func (dummyLogger) Warn(...interface{})           {}
func (dummyLogger) Warnf(string, ...interface{})  {}
func (dummyLogger) Error(...interface{})          {}
func (dummyLogger) Errorf(string, ...interface{}) {}
func (dummyLogger) Fatal(v ...interface{})        { os.Exit(1) }
func (dummyLogger) Fatalf(string, ...interface{}) { os.Exit(1) }
func (dummyLogger) Panic(v ...interface{})        { panic(fmt.Sprint(v...)) }
func (dummyLogger) Panicf(f string, v ...interface{}) {
	panic(fmt.Sprintf(f, v...))
}

// Debug logs at debug level through the current logger.
func Debug(v ...interface{}) { GetLogger().Debug(v...) }

// Debugf logs at debug level through the current logger.
func Debugf(format string, v ...interface{}) { GetLogger().Debugf(format, v...) }

// Info logs at info level through the current logger.
func Info(v ...interface{}) { GetLogger().Info(v...) }

// Infof logs at info level through the current logger.
func Infof(format string, v ...interface{}) { GetLogger().Infof(format, v...) }

// Warn logs at warn level through the current logger.
func Warn(v ...interface{}) { GetLogger().Warn(v...) }

// Warnf logs at warn level through the current logger.
func Warnf(format string, v ...interface{}) { GetLogger().Warnf(format, v...) }

// Error logs at error level through the current logger.
func Error(v ...interface{}) { GetLogger().Error(v...) }

// Errorf logs at error level through the current logger.
func Errorf(format string, v ...interface{}) { GetLogger().Errorf(format, v...) }

// Fatal logs and exits the process.
func Fatal(v ...interface{}) { GetLogger().Fatal(v...) }

// Fatalf logs and exits the process.
func Fatalf(format string, v ...interface{}) { GetLogger().Fatalf(format, v...) }

// Panic logs and panics.
func Panic(v ...interface{}) { GetLogger().Panic(v...) }

// Panicf logs and panics.
func Panicf(format string, v ...interface{}) { GetLogger().Panicf(format, v...) }
