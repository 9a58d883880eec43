// Package match decides whether what has arrived on a conversation is what
// was expected: a regular expression over the text received so far
// (connect --expect, send --expect), or the exact bytes of a recorded
// message (replay --expect). Callers feed it each piece as it arrives; it
// keeps no more than the decision needs, decodes each piece once, and
// does not search again what it has already searched when the pattern
// allows.
//
// It does not read connections or keep time: callers decide how long to
// wait and what a Waiting matcher means at the end.
package match

import (
	"bytes"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/sockit/sockit/internal/codec"
)

// State is where a Matcher stands.
type State int

const (
	Waiting State = iota // not decided: more may arrive
	Matched              // the pattern matched, or the expected bytes arrived
	Differs              // Exact: what arrived is not the start of what was expected
)

// DefaultMax is the received text a Regexp matcher keeps unless told
// otherwise: past it the oldest half is dropped, so that a chatty peer
// cannot grow it without bound.
const DefaultMax = 1 << 20

// A Matcher is fed what arrives and says whether it is what was
// expected. It is safe for concurrent use.
type Matcher struct {
	mu    sync.Mutex
	state State

	// Regexp.
	re      *regexp.Regexp
	cut     *regexp.Regexp // re once the start of the text has been dropped: ^ and \A match nothing; nil if nothing else could match
	max     int
	dec     io.WriteCloser // decodes into text
	text    []byte
	shape   shape
	trimmed bool // the start of the text has been dropped

	// Exact.
	want, got []byte
}

// Regexp returns a matcher of re against the text received so far,
// decoded from enc (nil for UTF-8) as it arrives, a character split
// across two pieces decoded whole. It keeps at most about max bytes of
// text (0 for DefaultMax), dropping the oldest half when it is over: a
// match must lie within what is kept. The cut falls after a line end
// where one is near, so ^ in (?m) mode and \b mean what they mean in the
// whole stream (in a line longer than a quarter of max they may also hold
// at the cut); ^ and \A without (?m) match only at the true start.
func Regexp(re *regexp.Regexp, enc *codec.Encoding, max int) *Matcher {
	if max <= 0 {
		max = DefaultMax
	}
	if enc == nil {
		enc, _ = codec.Lookup("utf-8")
	}
	m := &Matcher{re: re, max: max, shape: shape{span: -1, newline: true, edge: true}}
	m.dec = enc.NewDecodeWriter(textWriter{m})
	if prog, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		m.shape = measure(prog)
		if m.shape.span > max/4 {
			m.shape.span = -1 // a window that large saves nothing
		}
		if noStart(prog) {
			if cut, err := regexp.Compile(prog.String()); err == nil {
				m.cut = cut
			}
		}
	}
	return m
}

// Exact returns a matcher that expects exactly want: it takes no more
// than len(want) bytes, says Differs as soon as what arrived cannot be
// the start of want, and Matched once all of want arrived.
func Exact(want []byte) *Matcher {
	m := &Matcher{want: want}
	m.got = make([]byte, 0, min(len(want), 64<<10))
	m.state = m.exactState()
	return m
}

// textWriter appends decoded text.
type textWriter struct{ m *Matcher }

func (w textWriter) Write(p []byte) (int, error) {
	w.m.text = append(w.m.text, p...)
	return len(p), nil
}

// Feed gives m the next piece of what arrived and returns how many of its
// bytes m took: all of them, except that an Exact matcher takes no more
// than it expects (the rest belongs to what comes next). After a Regexp
// matcher has matched it takes everything and looks at nothing.
func (m *Matcher) Feed(p []byte) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.re == nil {
		n := min(len(p), len(m.want)-len(m.got))
		m.got = append(m.got, p[:n]...)
		m.state = m.exactState()
		return n
	}
	if m.state == Matched {
		return len(p)
	}
	old := len(m.text)
	m.dec.Write(p)
	if len(m.text) > old {
		m.search(old)
	}
	if len(m.text) > m.max {
		m.trim()
	}
	return len(p)
}

// search looks for a match that ends in the text added after old (or
// at old: \b, \B and $ there may hold only now). What came before old was
// searched already, so only where such a match can start is searched
// again: no further back than the longest match, nor than the line old
// is in when a match cannot hold a line end; from the start of a line
// when the pattern looks at what precedes it ((?m)^, \b, \B). Otherwise
// the whole text is searched.
func (m *Matcher) search(old int) {
	from := 0
	sh := m.shape
	if sh.span >= 0 || !sh.newline {
		lo := 0
		if sh.span >= 0 {
			lo = max(0, old-sh.span)
		}
		if !sh.newline {
			lo = max(lo, bytes.LastIndexByte(m.text[:old], '\n')+1)
		}
		from = runeStart(m.text, lo)
		if sh.edge {
			from = bytes.LastIndexByte(m.text[:lo], '\n') + 1
		}
	}
	re := m.re
	if m.trimmed || from > 0 {
		// No match can start at the true start from here (^, \A).
		if re = m.cut; re == nil {
			return
		}
	}
	if re.Match(m.text[from:]) {
		m.state = Matched
	}
}

// trim drops the oldest half of the text, cutting just after a line end
// when there is one in the next quarter, else at a character boundary.
func (m *Matcher) trim() {
	cut := len(m.text) - m.max/2
	if i := bytes.IndexByte(m.text[cut:], '\n'); i >= 0 && i < m.max/4 {
		cut += i + 1
	} else {
		cut = runeStart(m.text, cut)
	}
	m.text = append(m.text[:0], m.text[cut:]...)
	m.trimmed = true
}

// runeStart moves i back to the start of the UTF-8 character it is in.
func runeStart(b []byte, i int) int {
	for k := 0; i > 0 && i < len(b) && !utf8.RuneStart(b[i]) && k < utf8.UTFMax; k++ {
		i--
	}
	return i
}

func (m *Matcher) exactState() State {
	switch {
	case !bytes.HasPrefix(m.want, m.got):
		return Differs
	case len(m.got) == len(m.want):
		return Matched
	}
	return Waiting
}

// State says whether what arrived so far matched.
func (m *Matcher) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Matched reports whether the state is Matched.
func (m *Matcher) Matched() bool { return m.State() == Matched }

// Got is what an Exact matcher has taken so far (a copy).
func (m *Matcher) Got() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.got)
}

// Full reports whether an Exact matcher has taken all it expects (it
// matched, or differs and is complete).
func (m *Matcher) Full() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.re == nil && len(m.got) == len(m.want)
}

// shape is what a search needs to know of a pattern.
type shape struct {
	span    int  // the longest text a match can be, in bytes; -1 when there is no bound
	newline bool // a match can hold a line end
	edge    bool // a match looks at the text next to it: (?m)^, \b, \B
}

// measure works out re's shape. ^ and \A need nothing (the search uses a
// pattern without them away from the true start); $ and \z look only at
// the end, which a search always includes.
func measure(re *syntax.Regexp) shape {
	const huge = 1 << 30
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpEndLine:
		return shape{}
	case syntax.OpBeginLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return shape{edge: true}
	case syntax.OpLiteral:
		return shape{span: utf8.UTFMax * len(re.Rune), newline: slices.Contains(re.Rune, '\n')}
	case syntax.OpCharClass:
		nl := false
		for i := 0; i+1 < len(re.Rune); i += 2 {
			nl = nl || re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1]
		}
		return shape{span: utf8.UTFMax, newline: nl}
	case syntax.OpAnyCharNotNL:
		return shape{span: utf8.UTFMax}
	case syntax.OpAnyChar:
		return shape{span: utf8.UTFMax, newline: true}
	case syntax.OpCapture, syntax.OpQuest:
		return measure(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		sh := measure(re.Sub[0])
		sh.span = -1
		return sh
	case syntax.OpRepeat:
		sh := measure(re.Sub[0])
		if re.Max < 0 || sh.span < 0 || sh.span > 0 && re.Max > huge/sh.span {
			sh.span = -1
		} else {
			sh.span *= re.Max
		}
		return sh
	case syntax.OpConcat, syntax.OpAlternate:
		var sh shape
		for _, s := range re.Sub {
			sub := measure(s)
			sh.newline = sh.newline || sub.newline
			sh.edge = sh.edge || sub.edge
			switch {
			case sh.span < 0 || sub.span < 0:
				sh.span = -1
			case re.Op == syntax.OpConcat:
				sh.span = min(sh.span+sub.span, huge)
			default:
				sh.span = max(sh.span, sub.span)
			}
		}
		return sh
	}
	return shape{span: -1, newline: true, edge: true} // unknown: search everything
}

// noStart rewrites re, in place, so that ^ and \A (the start of the
// whole text) match nothing, for searching text whose start was dropped.
// It reports whether anything could still match.
func noStart(re *syntax.Regexp) bool {
	if re.Op == syntax.OpBeginText {
		re.Op = syntax.OpNoMatch
		return false
	}
	any := len(re.Sub) == 0
	all := true
	for _, s := range re.Sub {
		ok := noStart(s)
		any = any || ok
		all = all && ok
	}
	switch re.Op {
	case syntax.OpConcat:
		return all
	case syntax.OpAlternate:
		return any
	case syntax.OpStar, syntax.OpQuest:
		return true // they match empty
	case syntax.OpRepeat:
		return all || re.Min == 0
	}
	return all
}
