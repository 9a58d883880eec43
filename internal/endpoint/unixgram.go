package endpoint

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
)

// A unixgram client needs an address of its own for replies to come back
// to. Where the kernel cannot give it an abstract one (every system but
// Linux), it binds a socket file in the temporary directory, removed when
// the connection closes.

var unixgramSeq atomic.Uint64

// tempUnixgram returns a fresh socket file name for a unixgram client.
func tempUnixgram() *net.UnixAddr {
	name := fmt.Sprintf("sockit-%d-%d.sock", os.Getpid(), unixgramSeq.Add(1))
	return &net.UnixAddr{Name: filepath.Join(os.TempDir(), name), Net: "unixgram"}
}

// unixgramConn is a unixgram client that removes its bound socket file
// when it is closed.
type unixgramConn struct {
	*net.UnixConn
	path string
}

func (c *unixgramConn) Close() error {
	err := c.UnixConn.Close()
	os.Remove(c.path)
	return err
}

// NetConn returns the wrapped connection.
func (c *unixgramConn) NetConn() net.Conn { return c.UnixConn }
