package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The page talks to the server over one WebSocket. It sends commands, one
// JSON object per message; the server answers each with an "ok" or "error"
// reply carrying the command's req, and pushes state and event batches on
// its own (see client.go).
//
//	{"op":"open","req":"1","kind":"tcp-server","local":"127.0.0.1:8888","encoding":"gbk","frame":"line"}
//	{"op":"send","sid":1,"data":"hello","eol":"crlf","to":"#2","every":100,"count":10}
//	{"op":"close","sid":1}
//
// Every field is checked here, before anything touches a socket: unknown
// fields are refused (so nothing such as "exec" can slip through), sizes
// are bounded, and numbers are in range.

// Limits on what one command may carry.
const (
	maxCommand   = 2 << 20 // bytes of one WebSocket message
	maxData      = 1 << 20 // bytes of text or hex to send
	maxField     = 4096    // endpoints, names, paths, encodings…
	maxRules     = 100
	maxEvery     = 3600_000 // ms between repeated sends
	maxCount     = 1_000_000_000
	maxTitleName = 200
)

// tlsConfig is the TLS part of a session: a subset of the TLS flags (README "TLS flags").
type tlsConfig struct {
	On       bool   `json:"on,omitempty"`
	Insecure bool   `json:"insecure,omitempty"` // client: accept any certificate
	Pin      string `json:"pin,omitempty"`      // client: accept exactly this one
	SNI      string `json:"sni,omitempty"`      // client
	CA       string `json:"ca,omitempty"`       // PEM file of roots
	Cert     string `json:"cert,omitempty"`     // server: PEM files; empty makes an ephemeral certificate
	Key      string `json:"key,omitempty"`
	// Advanced: a client's certificate (PEM files), the ALPN protocols
	// offered or accepted (comma-separated), the lowest TLS version
	// ("1.0"…"1.3"; "" is 1.2).
	ClientCert string `json:"clientCert,omitempty"`
	ClientKey  string `json:"clientKey,omitempty"`
	ALPN       string `json:"alpn,omitempty"`
	Min        string `json:"min,omitempty"`
}

// command is one message from the page. Which fields matter depends on Op.
type command struct {
	Op  string `json:"op"`
	Req string `json:"req,omitempty"` // echoed in the reply
	SID int    `json:"sid,omitempty"` // the session it is about

	// open
	Kind   string     `json:"kind,omitempty"`
	Name   string     `json:"name,omitempty"` // open: the tab's title; save, unsave: the message's name
	Remote string     `json:"remote,omitempty"`
	Local  string     `json:"local,omitempty"`
	Frame  string     `json:"frame,omitempty"`
	TLS    *tlsConfig `json:"tls,omitempty"`
	// Advanced: a client's proxy (socks5://, http://); checking the
	// checksum (an algorithm) that ends each message received; closing a
	// conversation idle this many seconds; a server's address lists
	// (CIDR,… or @FILE) and cap on conversations at once.
	Proxy    string `json:"proxy,omitempty"`
	Verify   string `json:"verify,omitempty"`
	Idle     int    `json:"idle,omitempty"`
	Allow    string `json:"allow,omitempty"`
	Deny     string `json:"deny,omitempty"`
	MaxConns int    `json:"maxConns,omitempty"`

	// UDP: send to broadcast addresses (SO_BROADCAST); join a multicast
	// group (GROUP: the local endpoint's port on that group) on an
	// interface; the TTL of datagrams sent (to groups too); no loop of
	// our own datagrams to a group back to this host.
	Broadcast bool   `json:"broadcast,omitempty"`
	Group     string `json:"group,omitempty"`
	Iface     string `json:"iface,omitempty"`
	TTL       int    `json:"ttl,omitempty"`
	NoLoop    bool   `json:"noLoop,omitempty"`

	// SeqCheck: count gaps in the sequence numbers of messages received
	// (open, and the seqcheck command).
	SeqCheck bool `json:"seqCheck,omitempty"`

	// AutoReconnect: a client connects again when its connection ends
	// or fails (open, and the autoreconnect command).
	AutoReconnect bool `json:"autoReconnect,omitempty"`
	// Confirm says the person at the page agreed to open a server that
	// other machines or users can reach (see exposure.go).
	Confirm bool `json:"confirm,omitempty"`

	// open, setenc, send, save
	Encoding string `json:"encoding,omitempty"`

	// send, save
	Data     string `json:"data,omitempty"`
	Hex      bool   `json:"hex,omitempty"`
	EOL      string `json:"eol,omitempty"`
	Escapes  bool   `json:"escapes,omitempty"`
	Template bool   `json:"template,omitempty"`
	Checksum string `json:"checksum,omitempty"`
	ATCR     bool   `json:"atcr,omitempty"`  // save: the page's "AT: auto CR" (the page picks the line end of each send)
	To       string `json:"to,omitempty"`    // send: "", "all", "remote", or a peer ("#3" or its address)
	Every    int    `json:"every,omitempty"` // send: repeat every this many ms…
	Count    int    `json:"count,omitempty"` // …this many times in all (0: until stopped)

	// recvfile, sendfile: a file on the machine sockit runs on; sendfile:
	// bytes a chunk (0: the default) and ms between chunks
	Path  string `json:"path,omitempty"`
	Chunk int    `json:"chunk,omitempty"`
	Delay int    `json:"delay,omitempty"`

	// kick
	Peer string `json:"peer,omitempty"`

	// rules
	Rules []string `json:"rules,omitempty"`

	// view: how the page shows the session, and that it is the tab shown
	View   string `json:"view,omitempty"`
	Filter string `json:"filter,omitempty"`
	Active bool   `json:"active,omitempty"`

	// restore, forget: one session of the last run ("" all of them)
	Key string `json:"key,omitempty"`

	saved *savedSession // open: a session of the workspace, reopened
}

// ops lists the commands and whether each is about a session.
var ops = map[string]bool{
	"open":          false,
	"close":         true,
	"reconnect":     true,
	"send":          true,
	"stop":          true,
	"kick":          true,
	"rules":         true,
	"setenc":        true,
	"clear":         true,
	"reset":         true,
	"save":          false,
	"unsave":        false,
	"view":          true,
	"autoreconnect": true,
	"seqcheck":      true,
	"recvfile":      true,
	"stoprecv":      true,
	"sendfile":      true,
	"stopfile":      true,
	"restore":       false,
	"forget":        false,
}

// parseCommand reads and checks one command.
func parseCommand(b []byte) (*command, error) {
	if len(b) > maxCommand {
		return nil, fmt.Errorf("command of %d bytes is too large (limit %d)", len(b), maxCommand)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("command is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c command
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bad command: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bad command: more than one JSON value")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *command) check() error {
	needSID, ok := ops[c.Op]
	if !ok {
		return fmt.Errorf("unknown command %q", c.Op)
	}
	if needSID && c.SID <= 0 {
		return fmt.Errorf("%s needs a session (sid)", c.Op)
	}
	if c.SID < 0 {
		return errors.New("bad sid")
	}
	for name, v := range map[string]string{
		"req": c.Req, "kind": c.Kind, "remote": c.Remote, "local": c.Local, "frame": c.Frame,
		"encoding": c.Encoding, "eol": c.EOL, "checksum": c.Checksum, "to": c.To, "peer": c.Peer,
		"view": c.View, "filter": c.Filter, "key": c.Key, "path": c.Path,
		"group": c.Group, "iface": c.Iface, "proxy": c.Proxy, "verify": c.Verify, "allow": c.Allow, "deny": c.Deny,
	} {
		if len(v) > maxField {
			return fmt.Errorf("%s is too long (%d bytes, limit %d)", name, len(v), maxField)
		}
	}
	if t := c.TLS; t != nil {
		for _, v := range []string{t.Pin, t.SNI, t.CA, t.Cert, t.Key, t.ClientCert, t.ClientKey, t.ALPN, t.Min} {
			if len(v) > maxField {
				return fmt.Errorf("a TLS field is too long (limit %d bytes)", maxField)
			}
		}
	}
	if len(c.Name) > maxTitleName {
		return fmt.Errorf("name is too long (%d bytes, limit %d)", len(c.Name), maxTitleName)
	}
	if len(c.Data) > maxData {
		return fmt.Errorf("data is too long (%d bytes, limit %d)", len(c.Data), maxData)
	}
	if c.Every < 0 || c.Every > maxEvery {
		return fmt.Errorf("every %d ms is out of range (0-%d)", c.Every, maxEvery)
	}
	if c.Idle < 0 || c.Idle > 7*86400 {
		return fmt.Errorf("idle timeout %d s is out of range (0-%d)", c.Idle, 7*86400)
	}
	if c.MaxConns < 0 || c.MaxConns > 1_000_000 {
		return fmt.Errorf("max conns %d is out of range (0-1000000)", c.MaxConns)
	}
	if c.Count < 0 || c.Count > maxCount {
		return fmt.Errorf("count %d is out of range (0-%d)", c.Count, maxCount)
	}
	if len(c.Rules) > maxRules {
		return fmt.Errorf("%d rules is too many (limit %d)", len(c.Rules), maxRules)
	}
	for _, r := range c.Rules {
		if len(r) > maxField {
			return fmt.Errorf("a rule is too long (%d bytes, limit %d)", len(r), maxField)
		}
	}
	switch c.Op {
	case "open":
		switch kind(c.Kind) {
		case kindClient, kindServer, kindUDP:
		default:
			return fmt.Errorf("unknown session kind %q (want %s, %s or %s)", c.Kind, kindClient, kindServer, kindUDP)
		}
	case "save", "unsave":
		if c.Name == "" {
			return fmt.Errorf("%s needs a name", c.Op)
		}
	case "send":
		if c.Every == 0 && c.Count > 1 {
			return errors.New("repeating needs an interval (every N ms)")
		}
	case "view":
		if c.View != "" && c.View != "text" && c.View != "hex" {
			return fmt.Errorf("unknown view %q (want text or hex)", c.View)
		}
	case "kick":
		if c.Peer == "" {
			return errors.New("kick needs a peer")
		}
	}
	return nil
}
