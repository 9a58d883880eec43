package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// runIn runs sockit in-process with empty stdin and returns its output.
func runIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	st := &stdio{in: strings.NewReader(""), out: &out, err: &errb}
	code = run(context.Background(), args, st)
	return out.String(), errb.String(), code
}

var exampleThenDefault = regexp.MustCompile(`\([0-9.]+(ms|s|m|h)?\) \(default`)

// TestHelpDefaults: --help shows each flag's real default, and none of
// "(default 0s)" for timeouts that are off unless set (issue 10: bench -d
// said "(10s) (default 0s)", scan -w "(default 0s)" where it is 1s).
func TestHelpDefaults(t *testing.T) {
	for _, cmd := range []string{"connect", "listen", "send", "relay", "bench", "ping", "scan", "replay", "ui"} {
		out, _, code := runIn(t, cmd, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		if strings.Contains(out, "(default 0s)") {
			t.Errorf("%s --help shows (default 0s):\n%s", cmd, out)
		}
		// An example in parentheses next to the default reads as a
		// second, different default: "(10s) (default 0s)".
		if m := exampleThenDefault.FindString(out); m != "" {
			t.Errorf("%s --help shows %q:\n%s", cmd, m, out)
		}
	}
	for cmd, want := range map[string][]string{
		"bench": {"how long to run (default 10s)", "(default 1s)", "connections (udp: sockets) at once (default 1)"},
		"scan":  {"give up on one port after this long (default 1s)", "probes at once (default 100)"},
		"ping":  {"between probes (default 1s)", "give up on one probe after this long (default 1s)", "(default 4)", "(default 56)"},
		"send":  {"send this many times (default 1)", "(default 1s)"},
	} {
		out, _, _ := runIn(t, cmd, "--help")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s --help lacks %q:\n%s", cmd, w, out)
			}
		}
	}
}

// TestSuggestions: a slip in a command, a flag, a shell or an endpoint's
// scheme gets one "Did you mean …?" line, and the exit code is 2.
func TestSuggestions(t *testing.T) {
	for _, c := range []struct {
		args []string
		hint string
	}{
		{[]string{"conect", "127.0.0.1:1"}, "Did you mean 'sockit connect'?"},
		{[]string{"help", "lisen"}, "Did you mean 'sockit help listen'?"},
		{[]string{"connect", "--tiemout", "1", "127.0.0.1:1"}, "Did you mean --timeout?"},
		{[]string{"completion", "zhs"}, "Did you mean 'sockit completion zsh'?"},
		{[]string{"bench", "--mode", "r", "127.0.0.1:1"}, "Did you mean rx?"},
		{[]string{"connect", "udp//127.0.0.1:1"}, "Did you mean udp://127.0.0.1:1?"},
	} {
		out, stderr, code := runIn(t, c.args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != 2 || out != "" || len(lines) != 2 || lines[1] != c.hint {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, and %q", c.args, code, out, stderr, c.hint)
		}
	}
}
