package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
	"github.com/spf13/cobra"
)

func newCallCmd() *cobra.Command {
	var (
		cf       connFlags
		file     string
		oneway   bool
		showMeta bool
	)
	cmd := &cobra.Command{
		Use:   "call [flags] Service.Method [json | - | @file]",
		Short: "Call a method with a JSON argument and print the reply",
		Long: `Call one method and print its reply (pretty JSON when the serialize type is
JSON). The argument is the second operand, "-" for standard input, "@path"
or --file for a file, and {} when absent. It is JSON for --ser json and
--ser msgpack (converted to msgpack, and the reply back to JSON); with
--ser raw or protobuf the bytes are sent as they are. Errors name the
server's error code.

` + exitCodesHelp,
		Example: `  courier call --addr tcp@127.0.0.1:8972 Arith.Mul '{"A":6,"B":7}'
  echo '{"A":6,"B":7}' | courier call Arith.Mul -
  courier call -H tenant=blue -H trace=on --timeout 2s Arith.Mul @args.json
  courier call --tls-ca ca.pem --tls-cert me.pem --tls-key me.key Arith.Mul '{"A":1,"B":2}'
  courier call --oneway Log.Write '{"line":"hello"}'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			payload, err := readPayload(cmd.InOrStdin(), args[1:], file, &cf)
			if err != nil {
				return err
			}
			return runCall(cmd.Context(), cmd.OutOrStdout(), &cf, args[0], payload, oneway, showMeta)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", `read the argument from this file ("-": standard input)`)
	cmd.Flags().BoolVar(&oneway, "oneway", false, "send without waiting for a reply (prints nothing)")
	cmd.Flags().BoolVarP(&showMeta, "show-meta", "v", false, "print the response metadata as '# key: value' lines first")
	return cmd
}

// readPayload returns the argument bytes: the operand, standard input for
// "-", a file for "@path" or --file, {} when there is none. JSON arguments
// must be valid JSON.
func readPayload(stdin io.Reader, operands []string, file string, cf *connFlags) ([]byte, error) {
	var (
		payload []byte
		err     error
	)
	src := ""
	switch {
	case file != "" && len(operands) > 0:
		return nil, usageErr("give the argument as an operand or with --file, not both")
	case file != "":
		src = "@" + file
	case len(operands) > 0:
		src = operands[0]
	}
	switch {
	case src == "":
		payload = []byte("{}")
	case src == "-" || src == "@-":
		if payload, err = io.ReadAll(stdin); err != nil {
			return nil, usageErr("reading standard input: %v", err)
		}
	case strings.HasPrefix(src, "@"):
		if payload, err = os.ReadFile(src[1:]); err != nil {
			return nil, usageErr("reading the argument: %v", err)
		}
	default:
		payload = []byte(src)
	}
	if cf.ser == "json" || cf.ser == "msgpack" {
		payload = bytes.TrimSpace(payload)
		if !json.Valid(payload) {
			return nil, usageErr("the argument is not valid JSON: %s", abbreviate(payload))
		}
	}
	return payload, nil
}

func abbreviate(b []byte) string {
	const max = 60
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func runCall(ctx context.Context, stdout io.Writer, cf *connFlags, target string, payload []byte, oneway, showMeta bool) error {
	payload, err := encodeArg(cf.ser, payload)
	if err != nil {
		return err
	}
	req, err := cf.request(target, payload)
	if err != nil {
		return err
	}
	req.SetOneway(oneway)
	cl, err := cf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	resMeta := map[string]string{}
	ctx = context.WithValue(ctx, share.ResMetaDataKey, resMeta)
	_, reply, err := cf.send(ctx, cl, req)
	if err != nil {
		return err
	}
	if oneway {
		return flushOneway(ctx, cf, cl)
	}
	if showMeta {
		keys := make([]string, 0, len(resMeta))
		for k := range resMeta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "# %s: %s\n", k, resMeta[k])
		}
	}
	_, err = fmt.Fprintf(stdout, "%s\n", decodeReply(cf.ser, reply))
	return err
}

// flushOneway makes sure a oneway frame left the client before it closes:
// the client may queue the frame for its writer goroutine, and Close drops
// what is queued. A heartbeat is written after it on the same connection,
// so its reply proves the oneway frame was sent.
func flushOneway(ctx context.Context, cf *connFlags, cl *client.Client) error {
	hb := protocol.NewMessage()
	hb.SetHeartbeat(true)
	_, _, err := cf.send(ctx, cl, hb)
	return err
}
