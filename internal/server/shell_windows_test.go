package server

import (
	"bytes"
	"strings"
	"testing"
)

// Runs on Windows only (CI cross-vets it; it cannot run it).

// TestShellCommandVerbatim: the line reaches cmd.exe as typed, quotes,
// & and | included.
func TestShellCommandVerbatim(t *testing.T) {
	cmd := shellCommand(`echo "a b"& echo c|findstr c`)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if got != "\"a b\"\nc\n" {
		t.Fatalf("output %q", got)
	}
}
