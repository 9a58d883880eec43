package server

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
)

// FuzzParseRule checks that no --respond value panics, that every error
// is a usage error, and that an accepted rule's reply can be made.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`^PING=>PONG`, `a=>b=>c`, `^QUIET=>`, `=>x`, `no arrow`, `([=>x`,
		`^GET (\S+)=>HTTP/1.0 200 OK\r\n\r\n`, `.=>hex:01 02 0x03`, `x=>hex:zz`,
		`x=>{{seq}} {{time}} {{rand:4}} {{peer}}`, `x=>{{nope}}`, `x=>\xff\u00e9`, `x=>@/nonexistent`,
	} {
		f.Add(s, true, true)
		f.Add(s, false, false)
	}
	latin1, _ := codec.Lookup("latin1")
	f.Fuzz(func(t *testing.T, s string, escapes, template bool) {
		if strings.Contains(s, "=>@") {
			return // @FILE reads files: not the fuzzer's business
		}
		for _, enc := range []*codec.Encoding{nil, latin1} {
			r, err := ParseRule(s, ReplyOptions{Encoding: enc, Escapes: escapes, Template: template})
			if err != nil {
				if _, ok := err.(*exitcode.UsageError); !ok {
					t.Fatalf("ParseRule(%q): %T %v, want a usage error", s, err, err)
				}
				continue
			}
			if _, err := r.Reply.Append(nil, 1, "127.0.0.1:1"); err != nil && !strings.Contains(err.Error(), "encod") {
				t.Fatalf("ParseRule(%q) accepted a reply that cannot be made: %v", s, err)
			}
			r.Pattern.MatchString(s)
		}
	})
}

// FuzzParseACL checks that no --allow/--deny value panics and that every
// error is a usage error.
func FuzzParseACL(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::1,127.0.0.1", "::ffff:10.0.0.0/104", "1.2.3.4/33", "fe80::1%eth0", " , ,", "a,b", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "@") {
			return // files
		}
		a, err := ParseACL("--allow", s)
		if err != nil {
			if _, ok := err.(*exitcode.UsageError); !ok {
				t.Fatalf("ParseACL(%q): %T %v", s, err, err)
			}
			return
		}
		a.Contains(netip.MustParseAddr("127.0.0.1"))
		a.Contains(netip.MustParseAddr("::ffff:10.1.1.1"))
	})
}

// FuzzACLFile checks list files: no content panics, every error is a
// usage error, and a file that parses keeps every entry a line holds
// (a fail-open parser would drop some and still succeed).
func FuzzACLFile(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8\n::1\n", "# only a comment\n", "", "\n\n\n", "127.0.0.1 # me\r\n10.0.0.1,10.0.0.2\n",
		"@/etc/hosts\n", "\x00\x01", "10.0.0.0/33\n", "fe80::1%eth0\n", "::ffff:10.0.0.0/104\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(dir, "list")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := ParseACL("--deny", "@"+path)
		if err != nil {
			if _, ok := err.(*exitcode.UsageError); !ok {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		want := 0
		for _, line := range strings.Split(string(content), "\n") {
			text, _, _ := strings.Cut(line, "#")
			want += len(fields(text))
		}
		if a.Len() != want {
			t.Fatalf("%d entries from a file with %d: %q", a.Len(), want, content)
		}
	})
}
