// Package cli is sockit's command line: the cobra command tree, flags and
// help. Each command turns its flags into option structs and calls the
// engine packages; no socket code lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sockit/sockit/internal/exitcode"
)

// Version is set at build time with -ldflags "-X github.com/sockit/sockit/internal/cli.Version=…".
var Version = "dev"

// Main runs sockit with args (without the program name) and returns the
// exit code. It never panics on bad input and never calls os.Exit.
func Main(ctx context.Context, args []string) int {
	st := &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, inFile: os.Stdin, outFile: os.Stdout}
	st.inTTY = term.IsTerminal(int(os.Stdin.Fd()))
	st.outTTY = term.IsTerminal(int(os.Stdout.Fd()))
	st.errTTY = term.IsTerminal(int(os.Stderr.Fd()))
	return run(ctx, args, st)
}

// run is Main with the standard streams given, for in-process tests.
func run(ctx context.Context, args []string, st *stdio) (code int) {
	defer func() {
		if r := recover(); r != nil {
			// A panic is a bug; still, end with one line, not a stack trace.
			st.errorf("internal error: %v (please report this)", r)
			code = 70
		}
	}()
	root := newRoot(st)
	root.SetArgs(args)
	var err error
	if len(args) >= 2 && args[0] == "help" {
		// cobra answers "help bogus" with a note and success; it is a
		// usage error like any unknown command.
		if c, _, ferr := root.Find(args[1:]); ferr != nil || c == root {
			err = exitcode.WithHint("Run 'sockit --help' for the list of commands.", "unknown help topic %q", strings.Join(args[1:], " "))
		}
	}
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return exitcode.OK
	}
	if isCobraUsage(err) {
		err = &exitcode.UsageError{Msg: err.Error(), Hint: "Run 'sockit --help' or 'sockit COMMAND --help' for usage."}
	}
	code = exitcode.Code(err)
	msg := err.Error()
	if code == exitcode.Interrupted {
		msg = "interrupted"
	}
	st.errorf("%s", oneLine(msg))
	if h := exitcode.Hint(err); h != "" {
		fmt.Fprintln(st.err, h)
	}
	return code
}

// isCobraUsage recognises the errors cobra makes for unknown commands and
// bad arguments, which come back as plain errors.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "bad flag syntax", "required flag"} {
		if strings.Contains(s, p) {
			var u *exitcode.UsageError
			return !errors.As(err, &u)
		}
	}
	return false
}

// flagMessage drops the strconv detail pflag appends to bad numbers:
// `invalid argument "abc" for "--max-conns" flag: not a number`.
func flagMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": strconv."); i >= 0 {
		msg = msg[:i] + ": not a number"
		if strings.Contains(err.Error(), "value out of range") {
			msg = msg[:i] + ": out of range"
		}
	}
	return msg
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func newRoot(st *stdio) *cobra.Command {
	root := &cobra.Command{
		Use:   "sockit",
		Short: "Talk TCP, UDP, TLS and Unix sockets: client, server, relay, bench, web UI",
		Long: `sockit is one tool for talking TCP and UDP: the client and server of every
socket tutorial, a netcat/socat replacement, a network debugging assistant
in the browser, and a benchmark, with one way of naming endpoints:

  tcp://HOST:PORT  udp://HOST:PORT  tls://HOST:PORT  unix:///PATH
  HOST:PORT (tcp, or udp with -u)  :PORT or PORT (listen on all interfaces)`,
		Example: `  sockit listen 8888                      # TCP server for one client
  sockit connect 127.0.0.1:8888           # TCP client (type lines; Ctrl-D ends)
  sockit listen -u 8888 --echo            # UDP echo server
  sockit send udp://127.0.0.1:8888 hello  # send once, print the reply
  sockit connect --recv-encoding gbk 127.0.0.1:8888`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetIn(st.in)
	root.SetOut(st.out)
	root.SetErr(st.err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitcode.UsageError{Msg: flagMessage(err), Hint: "Run '" + c.CommandPath() + " --help' for usage."}
	})
	root.AddCommand(
		newConnect(st),
		newListen(st),
		newSend(st),
		newRelay(st),
		newBench(st),
		newPing(st),
		newScan(st),
		newReplay(st),
		newVersion(st),
		newUI(st),
	)
	for _, c := range extraCommands {
		root.AddCommand(c(st))
	}
	return root
}

// extraCommands are added by the files of commands that live elsewhere in
// this package (relay, bench, ui…), each from its own file.
var extraCommands []func(*stdio) *cobra.Command

func newVersion(st *stdio) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sockit's version, commit, build date, Go version and platform",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			currentBuild().write(cmd.OutOrStdout())
			return nil
		},
	}
}

// Arguments checks that give usage errors (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.Usagef("%s takes no arguments, got %q", cmd.Name(), args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return exitcode.WithHint("Run 'sockit "+cmd.Name()+" --help' for examples.",
				"%s needs %s", cmd.Name(), what)
		}
		return nil
	}
}

func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return exitcode.WithHint("Run 'sockit "+cmd.Name()+" --help' for examples.",
				"%s needs %s", cmd.Name(), what)
		}
		return nil
	}
}
