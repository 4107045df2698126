// Command courier is courier's command-line tool:
//
//	courier call     [flags] Service.Method [json-args]   call a method, print the reply
//	courier list     [flags]                              list the services of a server
//	courier describe [flags] Service                      describe one service's methods and types
//	courier bench    [flags] Service.Method [json-args]   load a method, print a latency histogram
//	courier gateway  -listen host:port -servers tcp@a,tcp@b  serve an HTTP gateway to the servers
//
// The server must register reflection (reflection.New) under the name
// "Reflection" for list and describe. Arguments and replies travel as JSON
// (serialize type 1) unless -ser says otherwise; -ser raw sends the
// argument bytes as they are.
//
// Common flags: -addr network@host:port (default tcp@127.0.0.1:8972),
// -timeout, -meta k=v,k2=v2, -auth token, -tls (with -tls-ca, -tls-insecure).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "call":
		err = cmdCall(args[1:], stdout)
	case "list":
		err = cmdList(args[1:], stdout)
	case "describe":
		err = cmdDescribe(args[1:], stdout)
	case "bench":
		err = cmdBench(args[1:], stdout)
	case "gateway":
		err = cmdGateway(args[1:], stdout)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "courier: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if errors.Is(err, errUsage) {
		usage(stderr)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "courier:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  courier call     [flags] Service.Method [json-args]
  courier list     [flags]
  courier describe [flags] Service
  courier bench    [flags] Service.Method [json-args]
  courier gateway  -listen 127.0.0.1:8080 -servers tcp@host:port[,...]
run "courier <command> -h" for the flags of a command
`)
}
