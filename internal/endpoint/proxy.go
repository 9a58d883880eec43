package endpoint

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/proxy"

	"github.com/sockit/sockit/internal/fail"
)

// dialProxy connects to ep through a SOCKS5 or HTTP CONNECT proxy. The
// proxy resolves names itself (socks5h semantics), so a name that only the
// proxy's side knows still works.
func (d *Dialer) dialProxy(ctx context.Context, nd *net.Dialer, ep Endpoint) (net.Conn, error) {
	u, err := ParseProxy(d.Proxy)
	if err != nil {
		return nil, err
	}
	if d.Trace != nil {
		d.Trace("connect via %s proxy %s to %s", u.Scheme, u.Host, ep.Address())
	}
	switch u.Scheme {
	case "socks5", "socks5h", "socks":
		var auth *proxy.Auth
		if u.User != nil {
			pw, _ := u.User.Password()
			auth = &proxy.Auth{User: u.User.Username(), Password: pw}
		}
		pd, err := proxy.SOCKS5("tcp", u.Host, auth, nd)
		if err != nil {
			return nil, err
		}
		// Dial the proxy here and let x/net only talk SOCKS on the
		// connection: its DialContext returns a wrapper without
		// CloseWrite, so stdin's EOF could never reach the target as a
		// FIN (and io.Copy could not splice).
		sd, ok := pd.(interface {
			DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
		})
		if !ok {
			return nil, fmt.Errorf("socks5 proxy %s: unsupported dialer %T", u.Host, pd)
		}
		c, err := nd.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, &ProxyDialError{Kind: "socks5", Proxy: u.Host, Err: err}
		}
		if _, err := sd.DialWithConn(ctx, c, "tcp", ep.Address()); err != nil {
			c.Close()
			return nil, socksError(u.Host, ep.Address(), err)
		}
		return c, nil
	case "http":
		return httpConnect(ctx, nd, u, ep.Address())
	}
	return nil, fail.Inputf("bad %s %q: scheme %q is not socks5 or http", OptProxy, d.Proxy, u.Scheme)
}

const proxyForms = "socks5://[user:pass@]HOST:PORT or http://[user:pass@]HOST:PORT"

// ParseProxy checks a --proxy URL: a socks5 or http scheme, a host and a
// port from 1 to 65535. Errors are usage errors naming the proxy.
func ParseProxy(s string) (*url.URL, error) {
	bad := func(why string) error {
		return fail.Inputf("bad %s %q: %s", OptProxy, printable(s), why).WithHint("Note that %s takes %s.", OptProxy, proxyForms)
	}
	if !strings.Contains(s, "://") {
		return nil, bad("missing scheme (socks5:// or http://)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, bad("not a URL")
	}
	switch u.Scheme {
	case "socks5", "socks5h", "socks", "http":
	case "":
		return nil, bad("missing scheme")
	default:
		return nil, bad(fmt.Sprintf("scheme %q is not socks5 or http", u.Scheme))
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, bad("missing host")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("unexpected path after HOST:PORT")
	}
	if u.Port() == "" {
		return nil, bad("missing port")
	}
	p, err := parsePort(u.Port())
	if err != nil {
		return nil, bad(err.Error())
	}
	if p == 0 {
		return nil, bad("port 0 is not a port one can connect to (1-65535)")
	}
	return u, nil
}

// ProxyDialError is a failure to reach the proxy itself, told apart from
// the target refusing: "http proxy 127.0.0.1:3128: connection refused".
type ProxyDialError struct {
	Kind  string // socks5 or http
	Proxy string // HOST:PORT of the proxy
	Err   error
}

func (e *ProxyDialError) Error() string {
	return e.Kind + " proxy " + e.Proxy + ": " + Cause(e.Err)
}

func (e *ProxyDialError) Unwrap() error { return e.Err }

// Hint is the what-to-try line.
func (e *ProxyDialError) Hint() string {
	return "Note that the proxy itself could not be reached; check --proxy " + e.Kind + "://" + e.Proxy + " and that the proxy runs."
}

// httpConnect opens a tunnel with an HTTP/1.1 CONNECT request.
func httpConnect(ctx context.Context, nd *net.Dialer, u *url.URL, target string) (net.Conn, error) {
	c, err := nd.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, &ProxyDialError{Kind: "http", Proxy: u.Host, Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if u.User != nil {
		pw, _ := u.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
	}
	req += "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("http proxy %s: %w", u.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		cause := syscall.ECONNREFUSED // 502 and the like: the proxy could not connect
		switch resp.StatusCode {
		case http.StatusProxyAuthRequired, http.StatusForbidden, http.StatusMethodNotAllowed:
			cause = syscall.EACCES
		case http.StatusGatewayTimeout:
			// ncat answers 504 to any failed connect, refused ones too:
			// report "unreachable" (exit 3) with the status as it came.
			cause = syscall.EHOSTUNREACH
		}
		return nil, &proxyError{msg: "http proxy " + u.Host + " refused CONNECT " + target + ": " + resp.Status, cause: cause}
	}
	c.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The target spoke first and its bytes arrived with the response.
		b, _ := br.Peek(br.Buffered())
		return &prefixConn{Conn: c, prefix: append([]byte(nil), b...)}, nil
	}
	return c, nil
}

// socksError words a failed SOCKS5 handshake and gives it the cause the
// exit code is decided from. Network errors (a reset, a timeout) keep
// theirs; the proxy's own answers, which x/net returns as plain text, are
// mapped: "connection refused" and the unreachables to their errnos, and
// the rest (authentication, rulesets, general failure) to EACCES, all exit
// code 3, as a refused direct connection would be.
func socksError(proxyHost, target string, err error) error {
	var errno syscall.Errno
	var ne net.Error
	if errors.As(err, &errno) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("socks5 proxy %s: %w", proxyHost, err)
	}
	reason := err.Error()
	if i := strings.LastIndex(reason, ": "); i >= 0 {
		reason = reason[i+2:]
	}
	reason = strings.TrimPrefix(reason, "unknown error ")
	cause := syscall.EACCES
	switch {
	case strings.Contains(reason, "connection refused"):
		cause = syscall.ECONNREFUSED
	case strings.Contains(reason, "host unreachable"):
		cause = syscall.EHOSTUNREACH
	case strings.Contains(reason, "network unreachable"):
		cause = syscall.ENETUNREACH
	case strings.Contains(reason, "TTL expired"):
		cause = syscall.ETIMEDOUT
	}
	return &proxyError{msg: "socks5 proxy " + proxyHost + " could not connect to " + target + ": " + reason, cause: cause}
}

// proxyError is a proxy's refusal, with the errno it amounts to.
type proxyError struct {
	msg   string
	cause syscall.Errno
}

func (e *proxyError) Error() string        { return e.msg }
func (e *proxyError) Is(target error) bool { return target == e.cause }

// prefixConn returns bytes that were read ahead before reading from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
