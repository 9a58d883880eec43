package fail

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEngineImports keeps the engine apart from its front ends: no
// package under internal/ but the command line (cli, and exitcode, its
// exit codes and flag names) and the web UI (web) imports them or cobra.
// Engine packages say what kind of failure an error is with this package
// instead of exitcode. Only the code is checked, not its tests: a test
// may ask exitcode how the command line would show an error.
func TestEngineImports(t *testing.T) {
	// sockittest is for tests only: it words errors as the command line does.
	frontEnds := map[string]bool{"cli": true, "web": true, "exitcode": true, "sockittest": true}
	forbidden := []string{
		"github.com/sockit/sockit/internal/cli",
		"github.com/sockit/sockit/internal/web",
		"github.com/sockit/sockit/internal/exitcode",
		"github.com/spf13/cobra",
		"github.com/spf13/pflag",
	}
	root := ".."
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() || frontEnds[d.Name()] {
			continue
		}
		err := filepath.WalkDir(filepath.Join(root, d.Name()), func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && e.Name() == "testdata" {
				return filepath.SkipDir
			}
			if e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, im := range f.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				for _, bad := range forbidden {
					if p == bad || strings.HasPrefix(p, bad+"/") {
						t.Errorf("%s imports %s: engine packages never import a front end", path, p)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the test in the wrong place?", checked)
	}
}
