package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/sockit/sockit/internal/platform"
)

// Commit and Date are set with -ldflags -X by release builds, as Version
// is: the full commit hash and the commit's time (RFC 3339, UTC), which
// is also the build date of a reproducible build.
var (
	Commit = ""
	Date   = ""
)

// buildInfo is what 'sockit version' prints.
type buildInfo struct {
	Version, Commit, Date, Go, Platform, Paths string
}

// currentBuild takes the values a release build stamps with -ldflags, and
// fills what is missing from what the Go toolchain records in the binary:
// 'go install …@v1.2.3' records the module version, a build in a Git work
// tree records the commit and its time (unless -buildvcs=false).
func currentBuild() buildInfo {
	b := buildInfo{
		Version:  Version,
		Commit:   Commit,
		Date:     Date,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Paths:    platform.Paths(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.fill(bi)
	}
	return b
}

func (b *buildInfo) fill(bi *debug.BuildInfo) {
	if b.Version == "dev" || b.Version == "" {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			b.Version = strings.TrimPrefix(v, "v")
		}
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Commit != "" && Commit == "" {
		b.Commit += " (modified)"
	}
}

// write prints b, one field a line.
func (b buildInfo) write(w io.Writer) {
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	fmt.Fprintf(w, "sockit %s\n", b.Version)
	fmt.Fprintf(w, "commit:   %s\n", unknown(b.Commit))
	fmt.Fprintf(w, "built:    %s\n", unknown(b.Date))
	fmt.Fprintf(w, "go:       %s\n", b.Go)
	fmt.Fprintf(w, "platform: %s, %s\n", b.Platform, b.Paths)
}
