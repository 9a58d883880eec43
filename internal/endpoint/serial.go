package endpoint

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// openSerial opens the serial port ep names with its line settings, as a
// net.Conn: a byte stream with read deadlines, no half-close.
func openSerial(ep Endpoint, t Tracer) (net.Conn, error) {
	mode := &serial.Mode{BaudRate: ep.Serial.Baud, DataBits: ep.Serial.Data}
	switch ep.Serial.Parity {
	case "odd":
		mode.Parity = serial.OddParity
	case "even":
		mode.Parity = serial.EvenParity
	case "mark":
		mode.Parity = serial.MarkParity
	case "space":
		mode.Parity = serial.SpaceParity
	}
	switch ep.Serial.Stop {
	case "1.5":
		if runtime.GOOS != "windows" {
			// termios has one stop bit or two (CSTOPB), nothing between.
			return nil, &SerialError{Msg: "1.5 stop bits: the serial drivers of this system take 1 or 2 (Windows has 1.5)", Err: syscall.EINVAL}
		}
		mode.StopBits = serial.OnePointFiveStopBits
	case "2":
		mode.StopBits = serial.TwoStopBits
	}
	if t != nil {
		t("open(%s) serial port, %d baud, %d data bits, parity %s, %s stop bit(s), flow control %s",
			ep.Path, ep.Serial.Baud, ep.Serial.Data, ep.Serial.Parity, ep.Serial.Stop, ep.Serial.Flow)
	}
	p, err := serial.Open(ep.Path, mode)
	if err != nil {
		return nil, serialOpenError(ep.Path, err)
	}
	return &serialConn{port: p, addr: serialAddr(ep.Path), rto: serial.NoTimeout, t: t}, nil
}

// serialOpenError words why a port did not open, keeping an errno (for
// the exit code) where there is one.
func serialOpenError(path string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortBusy:
			return &SerialError{Msg: "serial port " + path + " is busy (another program has it open)", Err: syscall.EBUSY,
				hint: "Note that a serial port has one user at a time: close the other program (a terminal, ModemManager) first."}
		case serial.PortNotFound:
			return &SerialError{Msg: "no serial port " + path, Err: os.ErrNotExist, hint: portsHint}
		case serial.PermissionDenied:
			return &SerialError{Msg: "permission denied opening serial port " + path, Err: os.ErrPermission,
				hint: "Note that serial ports belong to a group (dialout on Debian and Ubuntu): add yourself with 'sudo usermod -aG dialout $USER', then log in again."}
		case serial.InvalidSpeed:
			return &SerialError{Msg: "serial port " + path + " does not take that baud rate", Err: syscall.EINVAL}
		case serial.InvalidSerialPort:
			return &SerialError{Msg: path + " is not a serial port (" + strings.ToLower(pe.Error()) + ")", Err: syscall.ENOTTY, hint: portsHint}
		}
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
		return &SerialError{Msg: "no serial port " + path, Err: os.ErrNotExist, hint: portsHint}
	}
	return &SerialError{Msg: "opening serial port " + path + ": " + Cause(err), Err: err}
}

const portsHint = "Note that 'sockit ports' lists the serial ports present."

// SerialError is a serial port that failed to open or went away.
type SerialError struct {
	Msg  string
	Err  error
	hint string
}

func (e *SerialError) Error() string { return e.Msg }
func (e *SerialError) Unwrap() error { return e.Err }
func (e *SerialError) Hint() string  { return e.hint }

type serialAddr string

func (a serialAddr) Network() string { return "serial" }
func (a serialAddr) String() string  { return string(a) }

// serialConn is an open serial port as a net.Conn. Read deadlines are
// the port's read timeout, set before each read; a deadline changed while
// a read waits takes effect at the next read (Close ends a waiting read
// at once).
type serialConn struct {
	port   serial.Port
	addr   serialAddr
	t      Tracer
	closed atomic.Bool

	mu  sync.Mutex
	rdl time.Time
	rto time.Duration // the timeout last given to the port
}

func (c *serialConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		dl := c.rdl
		c.mu.Unlock()
		to := serial.NoTimeout
		if !dl.IsZero() {
			to = time.Until(dl)
			if to <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
		}
		if to != c.rto {
			if err := c.port.SetReadTimeout(to); err != nil {
				return 0, c.gone(err)
			}
			c.rto = to
		}
		n, err := c.port.Read(p)
		if err != nil {
			return n, c.gone(err)
		}
		if n > 0 {
			return n, nil
		}
		// A timeout: loop to check the deadline, which may have moved.
	}
}

// Write writes all of p. The port's own Write is one write(2), which a
// signal (Go's preemption sends them) can cut short after part of the
// bytes, or interrupt before any (EINTR): both go on with the rest here.
func (c *serialConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.port.Write(p[n:])
		n += m
		if errors.Is(err, syscall.EINTR) || err == nil && m == 0 {
			continue
		}
		if err != nil {
			return n, c.gone(err)
		}
	}
	return n, nil
}

// gone turns the error of a port that vanished (unplugged, or the other
// end of a pseudo-terminal closed) into one that says so and counts as
// broken by the peer (exit 6); after our own Close it is net.ErrClosed.
func (c *serialConn) gone(err error) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed ||
		errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
		if c.t != nil {
			c.t("serial port %s went away", c.addr)
		}
		return &SerialError{Msg: "serial port " + string(c.addr) + " went away (unplugged, or its other end closed)", Err: io.ErrUnexpectedEOF,
			hint: "Note that sockit does not reopen a serial port by itself; run it again when the device is back (--retry waits for it)."}
	}
	return err
}

func (c *serialConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.t != nil {
		c.t("close(%s)", c.addr)
	}
	return c.port.Close()
}

func (c *serialConn) LocalAddr() net.Addr  { return c.addr }
func (c *serialConn) RemoteAddr() net.Addr { return c.addr }

func (c *serialConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *serialConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline is accepted and has no effect: a write to a serial
// port finishes at the line's own pace.
func (c *serialConn) SetWriteDeadline(time.Time) error { return nil }

// PortInfo is a serial port present on this machine.
type PortInfo struct {
	Name    string `json:"name"`              // what serial:// takes: /dev/ttyUSB0, COM3
	USB     bool   `json:"usb"`               // a USB serial adapter or board
	VID     string `json:"vid,omitempty"`     // USB vendor ID, hex
	PID     string `json:"pid,omitempty"`     // USB product ID, hex
	Serial  string `json:"serial,omitempty"`  // USB serial number
	Product string `json:"product,omitempty"` // USB product name, where the system says
}

// Ports lists the serial ports present, for sockit ports.
func Ports() ([]PortInfo, error) {
	ports, err := ports()
	if err != nil {
		return nil, &SerialError{Msg: "listing serial ports: " + err.Error(), Err: err, hint: "Note that on Linux serial ports are the devices under /sys/class/tty with a driver."}
	}
	return ports, nil
}

// serialListener serves a serial port as a server: the port is opened at
// Accept, one conversation at a time (a serial line has one peer); when
// that conversation's conn is closed, the next Accept opens it again.
type serialListener struct {
	ep     Endpoint
	t      Tracer
	free   chan struct{} // holds a token while the port is not in use
	closed chan struct{}
	once   sync.Once
}

func newSerialListener(ep Endpoint, t Tracer) (*serialListener, error) {
	// Open once now, so that a port that is missing or busy is an error
	// at listen time, not at the first Accept.
	c, err := openSerial(ep, t)
	if err != nil {
		return nil, err
	}
	l := &serialListener{ep: ep, t: t, free: make(chan struct{}, 1), closed: make(chan struct{})}
	l.free <- struct{}{}
	c.Close()
	return l, nil
}

func (l *serialListener) Accept() (net.Conn, error) {
	select {
	case <-l.free:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	select {
	case <-l.closed:
		// Both were ready: a closed listener opens nothing.
		l.free <- struct{}{}
		return nil, net.ErrClosed
	default:
	}
	c, err := openSerial(l.ep, l.t)
	if err != nil {
		l.free <- struct{}{}
		return nil, err
	}
	return &releaseConn{Conn: c, release: func() { l.free <- struct{}{} }}, nil
}

func (l *serialListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *serialListener) Addr() net.Addr { return serialAddr(l.ep.Path) }

// releaseConn calls release once, when closed.
type releaseConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *releaseConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
