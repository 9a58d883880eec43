package interop

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// exampleCommands returns every sockit command in the fenced code blocks
// of a README, as sh would split it: quotes removed, a trailing # comment
// dropped, cut at pipes, && and ;, redirections left out. A command whose
// words need the shell ($VAR, $(…), globs) is skipped.
func exampleCommands(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds [][]string
	fenced := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			continue
		}
		for _, cmd := range sockittest.ShellCommands(strings.TrimPrefix(strings.TrimSpace(line), "$ ")) {
			if len(cmd) > 0 && cmd[0] == "sockit" {
				cmds = append(cmds, cmd[1:])
			}
		}
	}
	return cmds
}

// TestREADMEExamplesParse: every sockit command printed in either README
// names a command that exists, and flags that exist with values they take
// (each is run with --help added, which parses the flags as the command
// would and stops before it does anything). A renamed flag, a removed
// command or a value the flag refuses fails here before a reader pastes
// the example (issue 10: "every example works as printed"). The examples
// whose whole flow can run on loopback are run by the tests of their
// features (TestREADMESendExamples and the tests named in the READMEs).
func TestREADMEExamplesParse(t *testing.T) {
	t.Parallel()
	for _, name := range []string{readmeEN, readmeZH} {
		cmds := exampleCommands(t, name)
		if len(cmds) < 50 {
			t.Fatalf("%s: only %d sockit commands found in its code blocks: the parser is broken", name, len(cmds))
		}
		for _, args := range cmds {
			_, stderr, code := sockittest.Run(t, nil, 30*time.Second, append(append([]string{}, args...), "--help")...)
			if code != 0 {
				t.Errorf("%s: sockit %s: exit %d: %s", name, strings.Join(args, " "), code, headLine(stderr))
			}
		}
		t.Logf("%s: %d sockit commands parse", name, len(cmds))
	}
}

func headLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
