package endpoint

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"golang.org/x/net/proxy"

	"github.com/sockit/sockit/internal/exitcode"
)

// dialProxy connects to ep through a SOCKS5 or HTTP CONNECT proxy. The
// proxy resolves names itself (socks5h semantics), so a name that only the
// proxy's side knows still works.
func (d *Dialer) dialProxy(ctx context.Context, nd *net.Dialer, ep Endpoint) (net.Conn, error) {
	u, err := url.Parse(d.Proxy)
	if err != nil || u.Host == "" {
		return nil, exitcode.Usagef("bad --proxy %q: want socks5://[user:pass@]HOST:PORT or http://HOST:PORT", d.Proxy)
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
		c, err := pd.(proxy.ContextDialer).DialContext(ctx, "tcp", ep.Address())
		if err != nil {
			return nil, fmt.Errorf("socks5 proxy %s: %w", u.Host, err)
		}
		return c, nil
	case "http":
		return httpConnect(ctx, nd, u, ep.Address())
	}
	return nil, exitcode.Usagef("bad --proxy %q: scheme %q is not socks5 or http", d.Proxy, u.Scheme)
}

// httpConnect opens a tunnel with an HTTP/1.1 CONNECT request.
func httpConnect(ctx context.Context, nd *net.Dialer, u *url.URL, target string) (net.Conn, error) {
	c, err := nd.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("http proxy %s refused CONNECT %s: %s: %w", u.Host, target, resp.Status, errProxyRefused)
	}
	c.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The target spoke first and its bytes arrived with the response.
		b, _ := br.Peek(br.Buffered())
		return &prefixConn{Conn: c, prefix: append([]byte(nil), b...)}, nil
	}
	return c, nil
}

type proxyRefused struct{}

func (proxyRefused) Error() string { return "proxy refused the connection" }
func (proxyRefused) Is(target error) bool {
	return target == syscall.ECONNREFUSED
}

var errProxyRefused error = proxyRefused{}

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
