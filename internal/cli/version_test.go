package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files in testdata")

// TestVersionGolden: the layout of 'sockit version', from a release build's
// stamped values.
func TestVersionGolden(t *testing.T) {
	b := buildInfo{
		Version:  "1.2.3",
		Commit:   "0123456789abcdef0123456789abcdef01234567",
		Date:     "2025-06-01T12:00:00Z",
		Go:       "go1.26.8",
		Platform: "linux/arm64",
		Paths:    "Linux fast paths (epoll loops, batched UDP, splice)",
	}
	var out bytes.Buffer
	b.write(&out)
	golden := filepath.Join("testdata", "version.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("version output:\n%s\nwant (%s):\n%s", out.String(), golden, want)
	}
}

// TestVersionFromBuildInfo: without -ldflags, what the toolchain recorded
// fills in: the module version of 'go install …@v1.2.3', the commit and
// time of a build in a work tree; stamped values win.
func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/sockit/sockit", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	b := buildInfo{Version: "dev"}
	b.fill(bi)
	if b.Version != "0.4.0" || b.Commit != "abc123 (modified)" || b.Date != "2025-01-02T03:04:05Z" {
		t.Errorf("from build info: %+v", b)
	}
	b = buildInfo{Version: "9.9.9", Commit: "stamped", Date: "2020-01-01T00:00:00Z"}
	b.fill(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: bi.Settings})
	if b.Version != "9.9.9" || b.Date != "2020-01-01T00:00:00Z" || !strings.HasPrefix(b.Commit, "stamped") {
		t.Errorf("stamped values were overridden: %+v", b)
	}
}

// TestVersionCommand: 'sockit version' names the Go version and platform
// of the running binary, and exits 0.
func TestVersionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"version"}, &stdio{in: strings.NewReader(""), out: &out, err: &errb})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"sockit ", "\ngo:       " + runtime.Version() + "\n", "\nplatform: " + runtime.GOOS + "/" + runtime.GOARCH + ", "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
}
