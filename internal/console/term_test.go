package console

import "testing"

// TestVTMode: the Windows console mode Prepare asks for keeps every bit
// the console had and adds processed output and VT processing; a mode
// without the VT bit means no colour.
func TestVTMode(t *testing.T) {
	const echo, wrap = 0x0004 << 8, 0x0002 // bits Prepare must keep
	for _, tc := range []struct {
		in, want uint32
	}{
		{0, enableProcessedOutput | enableVirtualTerminalProcessing},
		{enableProcessedOutput | wrap, enableProcessedOutput | wrap | enableVirtualTerminalProcessing},
		{enableVirtualTerminalProcessing | echo, enableVirtualTerminalProcessing | echo | enableProcessedOutput},
	} {
		if got := vtMode(tc.in); got != tc.want {
			t.Errorf("vtMode(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
		if !vtOn(vtMode(tc.in)) {
			t.Errorf("vtOn(vtMode(%#x)) = false", tc.in)
		}
	}
	if vtOn(enableProcessedOutput | wrap) {
		t.Error("vtOn without ENABLE_VIRTUAL_TERMINAL_PROCESSING")
	}
}
