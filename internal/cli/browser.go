package cli

import (
	"os/exec"
	"runtime"
)

// browserCommand is how this system opens a URL in the default browser:
// xdg-open on Linux and the BSDs, open on macOS, and on Windows the URL
// protocol handler through rundll32 (not 'cmd /c start', where cmd.exe
// would take the & between query parameters for a command separator).
func browserCommand(goos, url string) *exec.Cmd {
	switch goos {
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		return exec.Command("open", url)
	default:
		return exec.Command("xdg-open", url)
	}
}

// browserOpener names the opener of this system, for --help.
func browserOpener() string { return browserCommand(runtime.GOOS, "").Args[0] }
