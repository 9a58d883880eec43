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
		for _, cmd := range shellCommands(strings.TrimPrefix(strings.TrimSpace(line), "$ ")) {
			if len(cmd) > 0 && cmd[0] == "sockit" {
				cmds = append(cmds, cmd[1:])
			}
		}
	}
	return cmds
}

// shellCommands splits one shell line into its simple commands' words.
// It returns nil for a line it cannot take apart without a shell.
func shellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, skipNext := false, false
	endWord := func() {
		if inWord {
			if !skipNext {
				words = append(words, w.String())
			}
			skipNext = false
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil
			}
			s := line[i+1 : i+1+j]
			if strings.ContainsAny(s, "$`\\") {
				return nil
			}
			w.WriteString(s)
			i += j + 1
			inWord = true
		case c == '\\':
			if i+1 == len(line) {
				return nil // continued on the next line
			}
			w.WriteByte(line[i+1])
			i++
			inWord = true
		case c == ' ' || c == '\t':
			endWord()
		case c == '#' && !inWord:
			i = len(line)
		case c == '|' || c == ';' || c == '&':
			endCmd()
			if i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '&') {
				i++
			}
		case c == '>' || c == '<':
			// A redirection: its target is not an argument.
			if inWord && isDigits(w.String()) {
				w.Reset() // 2>file: the 2 goes with it
				inWord = false
			} else {
				endWord()
			}
			for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&') {
				i++
			}
			if i+1 < len(line) && line[i+1] != ' ' {
				skipNext = true
			} else {
				skipNext = true
				for i+1 < len(line) && line[i+1] == ' ' {
					i++
				}
			}
		case c == '$' || c == '`' || c == '*' || c == '(' || c == ')':
			return nil
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
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
