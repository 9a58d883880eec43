package console

import (
	"os"

	"golang.org/x/sys/windows"
)

// Prepare turns on virtual-terminal processing on whichever of stdout and
// stderr is a console, so that colours and the interactive prompt's cursor
// movements are drawn rather than shown as "←[32m", and returns what puts
// the consoles back as they were. Where the console refuses (a legacy
// console), VT reports it and sockit prints without colour.
func Prepare() (restore func()) {
	var undo []func()
	for _, f := range []*os.File{os.Stdout, os.Stderr} {
		h := windows.Handle(f.Fd())
		var mode uint32
		if windows.GetConsoleMode(h, &mode) != nil {
			continue // not a console: a pipe, a file, NUL
		}
		want := vtMode(mode)
		if want == mode {
			continue
		}
		if windows.SetConsoleMode(h, want) == nil {
			old := mode
			undo = append(undo, func() { windows.SetConsoleMode(h, old) })
		}
	}
	return func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}

// VT reports whether colour and cursor sequences written to f are
// interpreted: f is a console with virtual-terminal processing on, or no
// console at all (then the caller's terminal check decides).
func VT(f *os.File) bool {
	var mode uint32
	if windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) != nil {
		return true
	}
	return vtOn(mode)
}
