package match

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/codec"
)

func lookup(t testing.TB, name string) *codec.Encoding {
	t.Helper()
	e, err := codec.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func feedAll(m *Matcher, pieces ...string) State {
	for _, p := range pieces {
		m.Feed([]byte(p))
	}
	return m.State()
}

func TestRegexpAcrossPieces(t *testing.T) {
	for _, tc := range []struct {
		re     string
		pieces []string
		want   State
	}{
		{`PONG`, []string{"+PO", "NG\r\n"}, Matched},
		{`^\+PONG`, []string{"+", "PONG"}, Matched},
		{`^\+PONG`, []string{"x+PONG"}, Waiting},
		{`^SSH-2\.0-`, []string{"SSH-2.0-OpenSSH\r\n"}, Matched},
		{`(?m)^OK$`, []string{"hello\nO", "K\nbye"}, Matched},
		{`OK$`, []string{"O", "K"}, Matched}, // $ is the end of what arrived so far
		{`\bword\b`, []string{"a sword", " here"}, Waiting},
		{`\bword\b`, []string{"a ", "word", " here"}, Matched},
		{`a.*b`, []string{"a", strings.Repeat("x", 5000), "b"}, Matched},
		{`x{3}`, []string{"x", "x", "x"}, Matched},
	} {
		m := Regexp(regexp.MustCompile(tc.re), nil, 0)
		if got := feedAll(m, tc.pieces...); got != tc.want {
			t.Errorf("%s on %q: %v, want %v", tc.re, tc.pieces, got, tc.want)
		}
	}
}

// TestRegexpSplitCharacters: a character split across two pieces is
// decoded whole, in every encoding with characters of several bytes.
func TestRegexpSplitCharacters(t *testing.T) {
	for _, name := range []string{"utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be"} {
		enc := lookup(t, name)
		text := "收到 ok"
		if name == "euc-kr" {
			text = "받았다 ok"
		}
		if name == "shift_jis" {
			text = "受信 ok"
		}
		b, err := enc.Append(nil, text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for split := 1; split < len(b); split++ {
			m := Regexp(regexp.MustCompile(regexp.QuoteMeta(text)), enc, 0)
			m.Feed(b[:split])
			if m.Matched() {
				t.Fatalf("%s: matched before all of it arrived", name)
			}
			m.Feed(b[split:])
			if !m.Matched() {
				t.Errorf("%s split at %d: no match for %q", name, split, text)
			}
		}
	}
}

// TestRegexpCapped: a peer that never matches cannot grow what is kept.
func TestRegexpCapped(t *testing.T) {
	for _, re := range []string{`NEVER`, `N.*R`, `(?m)^NEVER$`} {
		m := Regexp(regexp.MustCompile(re), nil, 64<<10)
		piece := bytes.Repeat([]byte("abc\n"), 1024)
		for i := 0; i < 1024; i++ { // 4 MiB
			m.Feed(piece)
			if len(m.text) > 64<<10 {
				t.Fatalf("%s: %d bytes of text kept, cap 64 KiB", re, len(m.text))
			}
		}
		if m.Matched() {
			t.Fatalf("%s matched", re)
		}
	}
}

// TestRegexpStraddlesCut: a match that begins before the text is cut and
// ends in the piece that made it too long is found; one that begins in
// what was kept is found later too.
func TestRegexpStraddlesCut(t *testing.T) {
	for _, re := range []string{`PONG`, `P[A-Z]*G`, `(?m)^PONG`} {
		m := Regexp(regexp.MustCompile(re), nil, 100)
		m.Feed([]byte(strings.Repeat("x", 95) + "\nPO"))
		m.Feed([]byte("NG" + strings.Repeat("z", 30))) // over the cap: search first, then cut
		if !m.Matched() {
			t.Errorf("%s: the match across the cut was missed", re)
		}
		m = Regexp(regexp.MustCompile(re), nil, 100)
		m.Feed([]byte(strings.Repeat("x", 120) + "\nPO")) // cut: "PO" is kept
		m.Feed([]byte("NG"))
		if !m.Matched() {
			t.Errorf("%s: the match begun in the kept text was missed", re)
		}
	}
}

// TestRegexpStartAfterCut: once the start of the text is gone, ^ and \A
// match nothing, and (?m)^ and \b still mean a line start and a word
// boundary in the whole stream.
func TestRegexpStartAfterCut(t *testing.T) {
	long := strings.Repeat("y", 200)
	for _, tc := range []struct {
		re     string
		pieces []string
		want   State
	}{
		{`^SSH`, []string{long, "SSH"}, Waiting},
		{`\ASSH|banner`, []string{long, "SSH"}, Waiting},
		{`\ASSH|banner`, []string{long, "banner"}, Matched},
		{`(?m)^OK`, []string{long + "\n" + long, "\nOK"}, Matched},
		{`(?m)^yy`, []string{long + "\n" + long, "a"}, Matched}, // a real line start
		{`\byyyy`, []string{long + " " + long, "y"}, Matched},
	} {
		m := Regexp(regexp.MustCompile(tc.re), nil, 256)
		if got := feedAll(m, tc.pieces...); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.re, got, tc.want)
		}
	}
	// With a line end near, the cut is never taken for a line start.
	m := Regexp(regexp.MustCompile(`(?m)^y`), nil, 256)
	if feedAll(m, strings.Repeat("x", 100)+strings.Repeat("y", 100), "\n"+strings.Repeat("z", 100), "a") == Matched {
		t.Error(`(?m)^y matched mid-line at the cut`)
	}
}

func TestExact(t *testing.T) {
	m := Exact([]byte("PONG\r\n"))
	if n := m.Feed([]byte("PO")); n != 2 || m.State() != Waiting {
		t.Fatalf("Feed = %d, %v", n, m.State())
	}
	if n := m.Feed([]byte("NG\r\nnext")); n != 4 || m.State() != Matched || !m.Full() {
		t.Fatalf("Feed took %d (want 4, the rest is the next message's), %v", n, m.State())
	}
	m = Exact([]byte("PONG\r\n"))
	m.Feed([]byte("PE"))
	if m.State() != Differs || m.Full() {
		t.Fatalf("%v, full %v: want Differs, not yet full", m.State(), m.Full())
	}
	m.Feed([]byte("NDINGMORE"))
	if string(m.Got()) != "PENDIN" || !m.Full() {
		t.Fatalf("Got %q", m.Got())
	}
	if Exact(nil).State() != Matched {
		t.Error("expecting nothing is not matched at once")
	}
}

func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		re   string
		want shape
	}{
		{`PONG`, shape{16, false, false}},
		{`\d{3} OK`, shape{24, false, false}},
		{`a|bcd`, shape{12, false, false}},
		{`ab?`, shape{8, false, false}},
		{`a.*b`, shape{-1, false, false}},
		{`(?s)a.*b`, shape{-1, true, false}},
		{`a\s+b`, shape{-1, true, false}},
		{`x+`, shape{-1, false, false}},
		{`^SSH`, shape{12, false, false}},
		{`OK$`, shape{8, false, false}},
		{`(?m)^OK$`, shape{8, false, true}},
		{`\bw`, shape{4, false, true}},
		{`(?i)ok`, shape{8, false, false}},
		{`a\nb`, shape{12, true, false}},
	} {
		prog, err := syntax.Parse(tc.re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := measure(prog); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.re, got, tc.want)
		}
	}
}

// FuzzRegexp: however the text is cut into pieces, the matcher matches
// as soon as the text received so far matches, and not before (while
// nothing has been dropped).
func FuzzRegexp(f *testing.F) {
	for _, s := range []struct{ re, text string }{
		{`PONG`, "xx+PONG\r\n"}, {`^SSH-2\.0-`, "SSH-2.0-x"}, {`a.*b`, "a\nxb"}, {`(?m)^OK$`, "a\nOK\nb"},
		{`\bw\b`, "a w b"}, {`x{2,3}y`, "xxxy"}, {`[^a]b`, "ab cb"}, {`(?s)a.b`, "a\nb"}, {`é+`, "ééé"}, {`0$`, "001"},
	} {
		f.Add(s.re, []byte(s.text), uint64(1))
	}
	f.Fuzz(func(t *testing.T, expr string, text []byte, seed uint64) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		m := Regexp(re, nil, 4*len(text)+64)
		rng := rand.New(rand.NewPCG(seed, 2))
		matched := false // some text received so far matched
		for fed := 0; fed < len(text); {
			n := 1 + rng.IntN(len(text)-fed)
			m.Feed(text[fed : fed+n])
			fed += n
			matched = matched || re.Match(text[:fed])
			if m.Matched() != matched {
				t.Fatalf("%q after %q: matched %v, want %v", expr, text[:fed], m.Matched(), matched)
			}
		}
	})
}

// BenchmarkFeed feeds 4 KiB pieces that never match: the cost per byte
// stays the same however much arrives (it grew with the square before).
func BenchmarkFeed(b *testing.B) {
	piece := bytes.Repeat([]byte("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"), 64)[:4096]
	for _, re := range []string{`PONG \d+`, `READY.*DONE`, `(?m)^OK$`} {
		for _, total := range []int{1 << 20, 8 << 20, 64 << 20} {
			b.Run(fmt.Sprintf("%s/%dMiB", re, total>>20), func(b *testing.B) {
				b.SetBytes(int64(total))
				for range b.N {
					m := Regexp(regexp.MustCompile(re), nil, 0)
					for sent := 0; sent < total; sent += len(piece) {
						m.Feed(piece)
					}
				}
			})
		}
	}
}
