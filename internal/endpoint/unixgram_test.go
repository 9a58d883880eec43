package endpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestUnixgramClientAddress: a unixgram client gets an address of its own
// for replies: on Linux an abstract one, elsewhere (and under the
// sockit_portable tag) a socket file that goes away with the connection.
func TestUnixgramClientAddress(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no unixgram sockets")
	}
	path := filepath.Join(t.TempDir(), "g.sock")
	pc, err := (&ListenConfig{}).ListenPacket(context.Background(), mustParse(t, "unixgram://"+path, Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := (&Dialer{}).Dial(context.Background(), mustParse(t, "unixgram://"+path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	if abstractAutobind {
		if local == "" || local[0] != '@' {
			t.Errorf("local address %q, want an abstract one (@…)", local)
		}
		c.Close()
		return
	}
	fi, err := os.Lstat(local)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("local address %q is not a socket file: %v", local, err)
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 8)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, from, err := pc.ReadFrom(buf); err != nil || from.String() != local {
		t.Fatalf("datagram from %v (%v), want from %s", from, err, local)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(local); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file %s still there after Close (%v)", local, err)
	}
}
