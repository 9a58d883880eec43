package web

import (
	"strconv"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/session"
)

// peerState is a peer of a server or UDP session, as the page lists it.
type peerState struct {
	ID   uint64 `json:"id"`
	Addr string `json:"addr"`
	In   int64  `json:"in"`
	Out  int64  `json:"out"`
	// Messages each way over the conversation's life (In and Out are its
	// bytes on the wire).
	MsgsIn  int64 `json:"msgsIn"`
	MsgsOut int64 `json:"msgsOut"`
}

// sessState is what the page shows of a session besides its log.
type sessState struct {
	SID           int         `json:"sid"`
	Key           string      `json:"key"`
	View          viewState   `json:"view"`
	Kind          kind        `json:"kind"`
	Title         string      `json:"title"`
	State         state       `json:"state"`
	Status        string      `json:"status"`
	Encoding      string      `json:"encoding"`
	Frame         string      `json:"frame"`
	Local         string      `json:"local,omitempty"`
	Remote        string      `json:"remote,omitempty"`
	TLS           bool        `json:"tls,omitempty"`
	Fingerprint   string      `json:"fingerprint,omitempty"`
	Peers         []peerState `json:"peers"`
	Rules         []string    `json:"rules"`
	History       []string    `json:"history"`
	Repeat        *repeatInfo `json:"repeat,omitempty"`
	AutoReconnect bool        `json:"autoReconnect,omitempty"`
	Retry         *retryInfo  `json:"retry,omitempty"` // a client waiting to reconnect
	RecvFile      *fileInfo   `json:"recvFile,omitempty"`
	SendFile      *fileInfo   `json:"sendFile,omitempty"`
	Stats         counters    `json:"stats"`
	Log           logInfo     `json:"log"`
	Loss          *lossInfo   `json:"loss"`
}

func (s *sess) peers() []peerState {
	s.mu.Lock()
	srv, conn := s.srv, s.conn
	s.mu.Unlock()
	var conns []*session.Conn
	switch {
	case srv != nil:
		conns = srv.Conns()
	case conn != nil:
		conns = []*session.Conn{conn}
	}
	out := make([]peerState, 0, len(conns))
	for _, c := range conns {
		in, o := c.Stats()
		mi, mo := s.log.peerMsgs(c.ID())
		out = append(out, peerState{ID: c.ID(), Addr: c.Peer(), In: in, Out: o, MsgsIn: mi, MsgsOut: mo})
	}
	return out
}

func (s *sess) snapshot(now time.Time) sessState {
	st := sessState{
		SID:         s.id,
		Key:         s.key,
		Kind:        s.kind,
		Frame:       s.setup.Frame().String(),
		TLS:         s.ep.IsTLS(),
		Fingerprint: s.fingerprint(),
		Rules:       s.rules.Load().list(),
		Peers:       s.peers(),
		Stats:       s.log.stats(now),
		Log:         s.log.info(),
		Loss:        s.loss(now),
	}
	switch {
	case s.kind == kindClient:
		st.Remote = s.ep.String()
	case s.remoteEP.Scheme != "":
		st.Remote = s.remoteEP.String()
	}
	s.mu.Lock()
	st.State, st.Status = s.state, s.status
	st.Encoding = s.enc.Name()
	st.Local = s.local
	st.History = append([]string{}, s.history...)
	st.View = s.view
	st.AutoReconnect = s.autoReconnect
	if s.recv != nil {
		i := s.recv.snapshot()
		st.RecvFile = &i
	}
	if s.sending != nil {
		i := s.sending.snapshot()
		st.SendFile = &i
	}
	if s.retry != nil {
		r := *s.retry
		st.Retry = &r
	}
	if s.rep != nil {
		info := s.rep.info()
		st.Repeat = &info
	}
	s.mu.Unlock()
	st.Title = s.title(st.Local)
	return st
}

func (s *sess) title(local string) string {
	if s.name != "" {
		return s.name
	}
	switch s.ep.Scheme {
	case "serial":
		return "serial " + s.ep.Path
	case "ws", "wss", "unix":
		if s.kind == kindClient {
			return s.ep.String()
		}
		if local != "" && s.ep.Scheme != "unix" {
			return s.ep.Scheme + "://" + local
		}
		return s.ep.String()
	}
	switch s.kind {
	case kindClient:
		return "TCP client " + hostPort(s.ep)
	case kindServer:
		if local == "" {
			return "TCP server " + hostPort(s.ep)
		}
		return "TCP server " + local
	}
	t := "UDP " + local
	if s.ep.IsUnix() {
		t = "unixgram " + hostPort(s.ep)
	}
	if s.udpRemote != nil {
		t += " → " + s.udpRemote.String()
	}
	return t
}

// fingerprint is a TLS server's ephemeral certificate's SHA-256, or "".
func (s *sess) fingerprint() string {
	if l := s.setup.Listening(); l != nil {
		return l.Ephemeral
	}
	return ""
}

func hostPort(ep endpoint.Endpoint) string {
	if ep.IsUnix() {
		return ep.Path
	}
	if ep.Host == "" {
		return ":" + strconv.Itoa(ep.Port)
	}
	return ep.Address()
}
