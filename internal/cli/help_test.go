package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelp keeps the --help of every command in golden files
// (testdata/help/*.golden), so that a change of wording shows in review;
// go test ./internal/cli -run TestHelp -update rewrites them. The files
// are Linux's: a few lines differ by system (the browser ui --open runs).
func TestHelp(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the golden help is Linux's")
	}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk(newRoot(&stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}}), nil)
	if len(paths) < 12 {
		t.Fatalf("found %d commands", len(paths))
	}
	dir := filepath.Join("testdata", "help")
	seen := map[string]bool{}
	for _, path := range paths {
		name := strings.Join(append([]string{"sockit"}, path...), "-")
		seen[name+".golden"] = true
		out, stderr, code := runIn(t, append(path, "--help")...)
		if code != 0 || stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", name, code, stderr)
		}
		golden := filepath.Join(dir, name+".golden")
		if *updateGolden {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (run go test ./internal/cli -run TestHelp -update)", name, err)
			continue
		}
		if out != string(want) {
			t.Errorf("%s --help differs from %s (review, then -update):\n%s", name, golden, diffLines(string(want), out))
		}
	}
	// A golden file of a command that is gone is stale.
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		if !seen[f.Name()] {
			t.Errorf("%s: no such command any more; remove it", filepath.Join(dir, f.Name()))
		}
	}
}

// diffLines shows the lines of got that differ from want, with theirs.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}
