package console

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/event"
)

// TestHexDumpOffsetPast2GiB: the offsets of --hex count on past 2 GiB
// and 4 GiB of a conversation on 32-bit systems too (linux/arm, 386),
// where an int offset wrapped.
func TestHexDumpOffsetPast2GiB(t *testing.T) {
	var out bytes.Buffer
	h := &HexDump{W: &out, offset: map[uint64]int64{7: 1<<31 - 8, 8: 1<<32 - 8}}
	chunk := []byte("0123456789abcdef")
	for _, conn := range []uint64{7, 7, 8, 8} {
		h.Print(&event.Event{Kind: event.Data, Dir: event.In, Conn: conn, Data: chunk})
	}
	var offsets []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		offsets = append(offsets, strings.Fields(line)[0])
	}
	want := []string{"7ffffff8", "80000008", "fffffff8", "100000008"}
	if strings.Join(offsets, " ") != strings.Join(want, " ") {
		t.Errorf("offsets %v, want %v", offsets, want)
	}
}
