// Package cli is sockit's command line: the cobra command tree, its flags
// and help, the wording of what it prints, and exit codes. Each command
// fills talk.Options (or another engine package's options) from its
// flags and calls the engine; the rules between options, the sockets and
// the conversations are the engine's, the same for the web UI. What
// stays here is how stdin, stdout and the terminal are joined to them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/suggest"
)

// Version is set at build time with -ldflags "-X github.com/sockit/sockit/internal/cli.Version=…".
var Version = "dev"

// Main runs sockit with args (without the program name) and returns the
// exit code. It never panics on bad input and never calls os.Exit.
func Main(ctx context.Context, args []string) int {
	st := &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, inFile: os.Stdin, outFile: os.Stdout}
	if fi, err := os.Stdin.Stat(); err == nil && fi.IsDir() {
		st.in = stdinDir{}
	}
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
	// Every output is watched (outputs.go): a failed write stops the run
	// through this context and is what the run reports.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	st.outs = &outputs{cancel: cancel}
	st.out = st.outs.guard("stdout", st.out)
	root := newRoot(st)
	root.SetArgs(args)
	var err error
	if len(args) >= 2 && args[0] == "help" {
		// cobra answers "help bogus" with a note and success; it is a
		// usage error like any unknown command.
		if c, _, ferr := root.Find(args[1:]); ferr != nil || c == root {
			hint := "Run 'sockit --help' for the list of commands."
			if m := closestCommand(root, args[1]); m != "" {
				hint = "Did you mean 'sockit help " + m + "'?"
			}
			err = exitcode.WithHint(hint, "unknown help topic %q", strings.Join(args[1:], " "))
		}
	}
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if out := st.outs.failure(); out != nil {
		if out.ReaderGone() {
			// The reader of stdout closed it (sockit … | head): it has
			// what it wanted. End quietly and with success, as nc does.
			return exitcode.OK
		}
		err = out // whatever else failed, failed because of it
	}
	if errors.Is(err, errStdinDir) {
		err = errStdinDir // without the "readfrom tcp …:" of the copy that met it
	}
	if err == nil {
		return exitcode.OK
	}
	if isCobraUsage(err) {
		err = cobraUsage(root, err)
	}
	code = exitcode.Code(err)
	msg := exitcode.Message(err)
	if code == exitcode.Interrupted {
		msg = "interrupted"
	}
	st.errorf("%s", oneLine(msg))
	if h := hint(err); h != "" {
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

// cobraUsage turns one of cobra's own errors into a usage error, with a
// "Did you mean …?" line for a command name one slip away from a real one.
func cobraUsage(root *cobra.Command, err error) error {
	msg := err.Error()
	hint := "Run 'sockit --help' or 'sockit COMMAND --help' for usage."
	var name string
	if _, perr := fmt.Sscanf(msg, "unknown command %q", &name); perr == nil {
		if m := closestCommand(root, name); m != "" {
			hint = "Did you mean 'sockit " + m + "'?"
		}
	}
	return &exitcode.UsageError{Msg: msg, Hint: hint}
}

// closestCommand is the command name nearest to name, if one is a likely
// slip ("conect" for "connect").
func closestCommand(root *cobra.Command, name string) string {
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
		}
	}
	return suggest.Closest(strings.ToLower(name), names)
}

// flagError words a bad flag or flag value as a usage error: the value
// types of values.go name the accepted range, and an unknown flag one
// slip away from a real one gets "Did you mean --timeout?".
func flagError(c *cobra.Command, err error) error {
	var ue *exitcode.UsageError
	if errors.As(err, &ue) {
		return ue // a value type's own usage error says it all
	}
	if fe, ok := fail.As(err); ok && fe.Kind == fail.BadInput {
		return fe // so does the engine's (--proxy)
	}
	hint := "Run '" + c.CommandPath() + " --help' for usage."
	if h := exitcode.Hint(err); h != "" {
		hint = h // a value type's "Did you mean …?"
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		name, _, _ = strings.Cut(name, "=")
		if m := suggest.Closest(strings.ToLower(name), names); m != "" {
			hint = "Did you mean --" + m + "?"
		}
	}
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok && rest != "" {
		if h := ncShorthand(c.Name(), rest[0]); h != "" {
			hint = h
		}
	}
	return &exitcode.UsageError{Msg: flagMessage(err), Hint: hint}
}

// ncShorthand is the hint for one of netcat's own short flags that sockit
// spells otherwise (nc -l -p 8888 is sockit listen 8888), or "".
func ncShorthand(cmd string, flag byte) string {
	switch {
	case flag == 'l':
		return "Note that nc -l is sockit listen PORT (-k to serve many clients, -u for UDP)."
	case flag == 'p' && cmd == "listen":
		return "Note that the port is the endpoint: sockit listen PORT, not -p PORT."
	case flag == 'p' && (cmd == "connect" || cmd == "send"):
		return "Note that the port to send from is -s/--source PORT (nc -p)."
	case flag == 'p' && cmd == "scan":
		return "Note that the ports follow the host: sockit scan HOST PORTS (22,80,8000-8100)."
	case flag == 'p':
		return "Note that the port is part of the endpoint: HOST:PORT, not -p PORT."
	case flag == 'e' || flag == 'c':
		return "Note that nc -e/-c is sockit listen --exec CMD PORT."
	case flag == 'z':
		return "Note that nc -z is sockit scan HOST PORTS."
	case flag == 'k':
		return "Note that -k keeps a server open for more clients: sockit listen -k PORT."
	}
	return ""
}

// emptyValues refuses a string flag given as an empty string (--exec "",
// --proxy ""): none of sockit's string flags means anything when empty,
// and taking one as absent would do something else than was asked.
func emptyValues(cmd *cobra.Command, _ []string) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err != nil {
			return
		}
		switch f.Value.Type() {
		case "string", "stringArray":
		default:
			return
		}
		empty := f.Value.String() == ""
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			empty = slices.Contains(sv.GetSlice(), "")
		}
		if empty {
			err = exitcode.WithHint("Run '"+cmd.CommandPath()+" --help' for what --"+f.Name+" takes.",
				"--%s needs a value, not an empty string", f.Name)
		}
	})
	return err
}

// completion makes cobra's completion command refuse a missing or unknown
// shell (cobra prints its help and succeeds).
func completion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	comp, _, err := root.Find([]string{"completion"})
	if err != nil || comp == root {
		return
	}
	var shells []string
	for _, c := range comp.Commands() {
		shells = append(shells, c.Name())
	}
	comp.Args = cobra.ArbitraryArgs
	comp.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return exitcode.WithHint("Run 'sockit completion --help' for how to load it.",
				"completion needs a shell: %s", orList(shells))
		}
		hint := "Run 'sockit completion --help' for how to load it."
		if m := suggest.Closest(strings.ToLower(args[0]), shells); m != "" {
			hint = "Did you mean 'sockit completion " + m + "'?"
		}
		return exitcode.WithHint(hint, "unknown shell %q for completion: want %s", args[0], orList(shells))
	}
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
	root.SetFlagErrorFunc(flagError)
	// cobra's own "Did you mean this?" spans several lines; ours is one.
	root.DisableSuggestions = true
	root.PersistentPreRunE = emptyValues
	root.AddCommand(
		newConnect(st),
		newListen(st),
		newSend(st),
		newRelay(st),
		newBench(st),
		newPing(st),
		newScan(st),
		newReplay(st),
		newPorts(st),
		newVersion(st),
		newUI(st),
	)
	completion(root)
	return root
}

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

// endpointArgs is rangeArgs for a command whose first argument is one
// endpoint (connect, listen, send, bench, ping): nc's HOST PORT, the
// commonest slip of a netcat hand, gets "Did you mean HOST:PORT?".
// send takes a second argument, the data; there HOST PORT is still a
// slip, as HOST alone is no endpoint.
func endpointArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if ep := hostPortSlip(args); ep != "" {
			return exitcode.WithHint("Did you mean "+ep+"? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).",
				"%s needs %s", cmd.Name(), what)
		}
		return rangeArgs(lo, hi, what)(cmd, args)
	}
}

// hostPortSlip is HOST:PORT when args begin with nc's HOST PORT
// ("127.0.0.1 8888", "::1 8888"), and "" otherwise.
func hostPortSlip(args []string) string {
	if len(args) < 2 || !isPort(args[1]) {
		return ""
	}
	host := args[0]
	if host == "" || isPort(host) || strings.ContainsAny(host, "/@[]") || strings.HasPrefix(host, "-") {
		return ""
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return "" // it has its port already
	}
	return net.JoinHostPort(host, args[1])
}

// isPort reports whether s is a port number, 0-65535.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && !strings.HasPrefix(s, "+")
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

// hint is exitcode.Hint with what only the command line knows: which
// kind of endpoint failed, so that the line names the right command.
func hint(err error) string {
	var op *endpoint.OpError
	if errors.As(err, &op) && errors.Is(err, syscall.ECONNREFUSED) {
		switch {
		case strings.HasPrefix(op.Endpoint, "udp"):
			return "Note that nothing is listening on that UDP port; start a UDP server first (sockit listen -u PORT)."
		case strings.HasPrefix(op.Endpoint, "unix"):
			return "Note that nothing is listening on that socket; start a server first (sockit listen " + op.Endpoint + ")."
		}
	}
	if h := exitcode.Hint(err); h != "" {
		return h
	}
	switch exitcode.Code(err) {
	case exitcode.Unreachable, exitcode.Timeout, exitcode.TLS, exitcode.Reset:
		// A failure of no known class still gets a line of what to try.
		return "Note that --trace (connect, listen, send, relay) shows each socket step as it happens."
	}
	return ""
}
