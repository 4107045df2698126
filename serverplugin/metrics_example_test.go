package serverplugin_test

import (
	"net/http"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
)

// printfLogger adapts courier's logger to metrics.Logger.
type printfLogger struct{}

func (printfLogger) Printf(format string, v ...interface{}) { log.Infof(format, v...) }

func ExampleMetricsPlugin() {
	p := serverplugin.NewMetricsPlugin(metrics.NewRegistry())
	s := server.NewServer()
	s.Plugins.Add(p) // before Register, to count services
	defer s.Close()

	// Export: JSON over HTTP on the program's mux, and a periodic log.
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.HTTPHandler())
	p.Log(time.Minute, printfLogger{})
	defer p.Stop()
}
