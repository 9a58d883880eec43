package console

// What the terminal needs before sockit writes to it. Unix terminals
// interpret colour and cursor sequences as they are. A Windows console does
// so only with virtual-terminal processing on (Windows 10 and later), which
// Prepare turns on for the run; VT reports whether it is on, for the
// colour decision.
//
// Text needs nothing: Go writes to a Windows console with WriteConsoleW,
// in UTF-16 (internal/poll.FD.writeConsole), and reads it with
// ReadConsoleW, so UTF-8 text and Chinese show correctly whatever the
// console's code page (936, GBK, on Chinese Windows). The code page is
// left as it is: the shell that started sockit and the commands --exec
// starts share the console and expect theirs. What goes to a pipe or a
// file is UTF-8, as everywhere.

// Console mode bits from the Windows SDK (wincon.h), here so that the
// decision can be tested on any system.
const (
	enableProcessedOutput           = 0x0001
	enableVirtualTerminalProcessing = 0x0004
)

// vtMode is the output mode Prepare sets on a console whose mode is mode:
// processed output (so that \n, \r and \b act) and VT sequences.
func vtMode(mode uint32) uint32 {
	return mode | enableProcessedOutput | enableVirtualTerminalProcessing
}

// vtOn reports whether a console in mode interprets VT sequences.
func vtOn(mode uint32) bool { return mode&enableVirtualTerminalProcessing != 0 }
