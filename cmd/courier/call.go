package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
)

func cmdCall(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	var cf connFlags
	cf.register(fs)
	showMeta := fs.Bool("show-meta", false, "print the response metadata")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return errUsage
	}
	payload := []byte("{}")
	if fs.NArg() == 2 {
		payload = []byte(fs.Arg(1))
	}
	if cf.ser == "json" && !json.Valid(payload) {
		return fmt.Errorf("argument is not valid JSON: %s", payload)
	}
	req, err := cf.request(fs.Arg(0), payload)
	if err != nil {
		return err
	}
	cl, err := cf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	meta, reply, err := cf.send(cl, req)
	if err != nil {
		return err
	}
	if *showMeta {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "# %s: %s\n", k, meta[k])
		}
	}
	var pretty bytes.Buffer
	if cf.ser == "json" && json.Indent(&pretty, reply, "", "  ") == nil {
		reply = pretty.Bytes()
	}
	_, err = fmt.Fprintf(stdout, "%s\n", reply)
	return err
}

func cmdList(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var cf connFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	var services []struct {
		Name    string `json:"name"`
		Methods []struct {
			Name string `json:"name"`
		} `json:"methods"`
	}
	if err := reflectCall(&cf, "DescribeServices", "", &services); err != nil {
		return err
	}
	for _, s := range services {
		fmt.Fprintln(stdout, s.Name)
		for _, m := range s.Methods {
			fmt.Fprintf(stdout, "  %s.%s\n", s.Name, m.Name)
		}
	}
	return nil
}

func cmdDescribe(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	var cf connFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errUsage
	}
	var svc struct {
		Name    string `json:"name"`
		Methods []struct {
			Name        string          `json:"name"`
			ReqName     string          `json:"reqName"`
			Req         string          `json:"req"`
			ReplyName   string          `json:"replyName"`
			Reply       string          `json:"reply"`
			ReqSchema   json.RawMessage `json:"reqSchema"`
			ReplySchema json.RawMessage `json:"replySchema"`
		} `json:"methods"`
	}
	if err := reflectCall(&cf, "DescribeService", fs.Arg(0), &svc); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "service %s\n", svc.Name)
	for _, m := range svc.Methods {
		fmt.Fprintf(stdout, "\n%s(%s) %s\n%s\n%s\n", m.Name, m.ReqName, m.ReplyName, m.Req, m.Reply)
		fmt.Fprintf(stdout, "request schema: %s\nreply schema:   %s\n", m.ReqSchema, m.ReplySchema)
	}
	return nil
}

// reflectCall calls Reflection.method with a JSON string argument and
// decodes the JSON text it replies into out.
func reflectCall(cf *connFlags, method, arg string, out any) error {
	cf.ser = "json"
	payload, _ := json.Marshal(arg)
	req, err := cf.request("Reflection."+method, payload)
	if err != nil {
		return err
	}
	cl, err := cf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	_, reply, err := cf.send(cl, req)
	if err != nil {
		return fmt.Errorf("Reflection.%s (does the server register reflection.New() as \"Reflection\"?): %w", method, err)
	}
	var text string
	if err := json.Unmarshal(reply, &text); err != nil {
		return fmt.Errorf("reflection reply: %w", err)
	}
	return json.Unmarshal([]byte(text), out)
}
