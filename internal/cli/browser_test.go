package cli

import (
	"strings"
	"testing"
)

// TestBrowserCommand: each system's own opener gets the URL as one
// argument, untouched (a Windows URL with & must not pass through cmd.exe).
func TestBrowserCommand(t *testing.T) {
	const url = "http://127.0.0.1:8080/?a=1&b=2"
	for goos, want := range map[string][]string{
		"linux":   {"xdg-open", url},
		"freebsd": {"xdg-open", url},
		"darwin":  {"open", url},
		"windows": {"rundll32", "url.dll,FileProtocolHandler", url},
	} {
		got := browserCommand(goos, url).Args
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
}
