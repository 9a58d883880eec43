package interop

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// A peer in the 64 MiB tests: how it listens or connects, sending a file
// or receiving into one. Each knows its own half-close habits:
//   - ncat: --send-only closes once stdin ends; --recv-only never reads
//     stdin, exits at the network's EOF, and shuts down its own write
//     side as soon as it connects, so a sockit client sending to it
//     needs --half-duplex (by default sockit stops when the peer's FIN
//     arrives, README "Pipe mode and the end of input").
//   - nc.openbsd: -N shuts down the socket's write side at stdin's EOF
//     (without it nc sends no FIN); -d never reads stdin.
//   - socat: -u copies one way and shuts down (FIN) when its input ends.
//   - Python: sendall, then shutdown(SHUT_WR) or close; recv until b"".
type bulkPeer struct {
	name string
	prog string
	// Each returns the arguments; in/out are file paths, port the port.
	listenSend, listenRecv   func(port int, in, out string) []string
	connectSend, connectRecv func(port int, in, out string) []string
	stdinFile, stdoutFile    bool // the peer reads in from stdin / writes out to stdout
	halfDuplex               bool // its receiving server sends FIN at once (ncat --recv-only)
}

const pyBulkServer = `
import socket, sys
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
if mode == "send":
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)   # FIN: that is all
    while c.recv(65536):         # until the client closes too
        pass
else:
    with open(path, "wb") as f:
        while True:
            b = c.recv(1 << 20)
            if not b:            # the client's FIN
                break
            f.write(b)
c.close()
`

const pyBulkClient = `
import socket, sys
mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", port))
if mode == "send":
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
else:
    with open(path, "wb") as f:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            f.write(b)
c.close()
`

func bulkPeers() []bulkPeer {
	p := strconv.Itoa
	return []bulkPeer{
		{
			name: "ncat", prog: "ncat",
			listenSend:  func(port int, in, out string) []string { return []string{"-l", "--send-only", "127.0.0.1", p(port)} },
			listenRecv:  func(port int, in, out string) []string { return []string{"-l", "--recv-only", "127.0.0.1", p(port)} },
			connectSend: func(port int, in, out string) []string { return []string{"--send-only", "127.0.0.1", p(port)} },
			connectRecv: func(port int, in, out string) []string { return []string{"--recv-only", "127.0.0.1", p(port)} },
			stdinFile:   true, stdoutFile: true, halfDuplex: true,
		},
		{
			name: "nc.openbsd", prog: "nc.openbsd",
			listenSend:  func(port int, in, out string) []string { return []string{"-N", "-l", "127.0.0.1", p(port)} },
			listenRecv:  func(port int, in, out string) []string { return []string{"-d", "-l", "127.0.0.1", p(port)} },
			connectSend: func(port int, in, out string) []string { return []string{"-N", "127.0.0.1", p(port)} },
			connectRecv: func(port int, in, out string) []string { return []string{"-d", "127.0.0.1", p(port)} },
			stdinFile:   true, stdoutFile: true,
		},
		{
			name: "socat", prog: "socat",
			listenSend: func(port int, in, out string) []string {
				return []string{"-u", "OPEN:" + in, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port)}
			},
			listenRecv: func(port int, in, out string) []string {
				return []string{"-u", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port), "CREATE:" + out}
			},
			connectSend: func(port int, in, out string) []string {
				return []string{"-u", "OPEN:" + in, fmt.Sprintf("TCP:127.0.0.1:%d", port)}
			},
			connectRecv: func(port int, in, out string) []string {
				return []string{"-u", fmt.Sprintf("TCP:127.0.0.1:%d", port), "CREATE:" + out}
			},
		},
		{name: "python", prog: "python3"},
	}
}

// TestBulk64MiB moves 64 MiB of random bytes through sockit and each peer,
// both roles and both directions, and compares SHA-256 at the far end.
func TestBulk64MiB(t *testing.T) {
	in, sum := payload(t)
	sockittest.Binary(t) // built before any timing starts
	for _, peer := range bulkPeers() {
		t.Run(peer.name, func(t *testing.T) {
			sockittest.Need(t, peer.prog)
			dir := t.TempDir()
			out := filepath.Join(dir, "out.bin")

			t.Run("sockit-connect-sends", func(t *testing.T) {
				// sockit connect < payload → peer listen > out. sockit shuts
				// down its write side at EOF and exits when the peer closes.
				pp := listenPeer(t, peer, "recv", in, out)
				args := []string{"connect", pp.addr}
				if peer.halfDuplex {
					args = append(args, "--half-duplex")
				}
				t0 := time.Now()
				sk := start(t, cmd(t, "sockit", args...), in, "")
				exitCode(t, sk, 0, "sockit connect")
				exitCode(t, pp.proc, 0, peer.name)
				report(t, "sockit connect → "+peer.name+" listen", time.Since(t0))
				checkSum(t, out, sum)
			})
			t.Run("sockit-connect-receives", func(t *testing.T) {
				// peer listen < payload → sockit connect --recv-only > out.
				// --recv-only keeps sockit's write side open (no early FIN
				// for the peer to take as the end).
				pp := listenPeer(t, peer, "send", in, out)
				t0 := time.Now()
				sk := start(t, cmd(t, "sockit", "connect", "--recv-only", pp.addr), "", out)
				exitCode(t, sk, 0, "sockit connect")
				exitCode(t, pp.proc, 0, peer.name)
				report(t, peer.name+" listen → sockit connect", time.Since(t0))
				checkSum(t, out, sum)
			})
			t.Run("peer-connect-sends", func(t *testing.T) {
				// peer < payload → sockit listen > out (stdin /dev/null: a
				// server with nothing to say sends no FIN).
				sk, addr := sockitListen(t, "/dev/null", out, "127.0.0.1:0")
				t0 := time.Now()
				pp := connectPeer(t, peer, "send", port(t, addr), in, filepath.Join(dir, "unused"))
				exitCode(t, pp, 0, peer.name)
				exitCode(t, sk, 0, "sockit listen")
				report(t, peer.name+" → sockit listen", time.Since(t0))
				checkSum(t, out, sum)
			})
			t.Run("peer-connect-receives", func(t *testing.T) {
				// sockit listen < payload → peer > out.
				sk, addr := sockitListen(t, in, "", "127.0.0.1:0")
				t0 := time.Now()
				pp := connectPeer(t, peer, "recv", port(t, addr), in, out)
				exitCode(t, pp, 0, peer.name)
				exitCode(t, sk, 0, "sockit listen")
				report(t, "sockit listen → "+peer.name, time.Since(t0))
				checkSum(t, out, sum)
			})
		})
	}

	// The same transfer with nc on both ends and sockit on both ends, in
	// the same run, for the throughput figure (logged, never asserted).
	t.Run("throughput", func(t *testing.T) {
		sockittest.Need(t, "nc.openbsd")
		dir := t.TempDir()
		out := filepath.Join(dir, "out.bin")
		for round := 0; round < 2; round++ {
			port := sockittest.FreePort(t, false)
			srv := start(t, cmd(t, "nc.openbsd", "-d", "-l", "127.0.0.1", strconv.Itoa(port)), "", out)
			sockittest.WaitListening(t, port)
			t0 := time.Now()
			cli := start(t, cmd(t, "nc.openbsd", "-N", "127.0.0.1", strconv.Itoa(port)), in, "")
			exitCode(t, cli, 0, "nc client")
			exitCode(t, srv, 0, "nc -l")
			report(t, "nc → nc", time.Since(t0))
			checkSum(t, out, sum)

			sk, addr := sockitListen(t, "/dev/null", out, "127.0.0.1:0")
			t0 = time.Now()
			skc := start(t, cmd(t, "sockit", "connect", addr), in, "")
			exitCode(t, skc, 0, "sockit connect")
			exitCode(t, sk, 0, "sockit listen")
			report(t, "sockit → sockit", time.Since(t0))
			checkSum(t, out, sum)
		}
	})
}

type runningPeer struct {
	proc *sockittest.Proc
	addr string
}

// listenPeer starts the peer as a server that sends the payload ("send")
// or receives into out ("recv").
func listenPeer(t *testing.T, peer bulkPeer, mode, in, out string) runningPeer {
	t.Helper()
	if peer.name == "python" {
		path := out
		if mode == "send" {
			path = in
		}
		p, port := pyPort(t, pyBulkServer, mode, path)
		return runningPeer{p, "127.0.0.1:" + strconv.Itoa(port)}
	}
	port := sockittest.FreePort(t, false)
	var args []string
	stdin, stdout := "", ""
	if mode == "send" {
		args = peer.listenSend(port, in, out)
		if peer.stdinFile {
			stdin = in
		}
	} else {
		args = peer.listenRecv(port, in, out)
		if peer.stdoutFile {
			stdout = out
		}
		stdin = "/dev/null"
	}
	p := start(t, cmd(t, peer.prog, args...), stdin, stdout)
	sockittest.WaitListening(t, port)
	return runningPeer{p, "127.0.0.1:" + strconv.Itoa(port)}
}

// connectPeer runs the peer as a client of 127.0.0.1:port.
func connectPeer(t *testing.T, peer bulkPeer, mode string, port int, in, out string) *sockittest.Proc {
	t.Helper()
	if peer.name == "python" {
		path := out
		if mode == "send" {
			path = in
		}
		return python(t, pyBulkClient, mode, strconv.Itoa(port), path)
	}
	var args []string
	stdin, stdout := "", ""
	if mode == "send" {
		args = peer.connectSend(port, in, out)
		if peer.stdinFile {
			stdin = in
		}
	} else {
		args = peer.connectRecv(port, in, out)
		if peer.stdoutFile {
			stdout = out
		}
		stdin = "/dev/null"
	}
	return start(t, cmd(t, peer.prog, args...), stdin, stdout)
}

func checkSum(t *testing.T, path, want string) {
	t.Helper()
	got, n := sockittest.FileSum(t, path)
	if got != want {
		t.Fatalf("received %d bytes with SHA-256 %s, want %d bytes with %s", n, got, payloadSize, want)
	}
}

func report(t *testing.T, what string, d time.Duration) {
	t.Helper()
	t.Logf("%-32s 64 MiB in %-8s %7.0f MB/s", what, d.Round(time.Millisecond), float64(payloadSize)/1e6/d.Seconds())
}
