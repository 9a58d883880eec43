package codec

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestParseHex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // hex, no spaces
	}{
		{"", ""},
		{"   \n\t", ""},
		{"48 65 6c", "48656c"},
		{"48656c", "48656c"},
		{"0x48,0x65", "4865"},
		{"0X48 0x65", "4865"},
		{"48:65:6c", "48656c"},
		{"48-65", "4865"},
		{`\x48\x65`, "4865"},
		{`\X48\x65`, "4865"},
		{"48\n65\r\n6C\t6c ; 6F", "48656c6c6f"},
		{"DEADbeef", "deadbeef"},
		{"0x4865", "4865"},
		{"48, 65,\n", "4865"},
		{"de ad\n\nbe ef\n", "deadbeef"},
		{`48\x65`, "4865"},
	}
	for _, tt := range tests {
		got, err := ParseHex(tt.in)
		if err != nil {
			t.Errorf("ParseHex(%q): %v", tt.in, err)
			continue
		}
		if got == nil || fmt.Sprintf("%x", got) != tt.want {
			t.Errorf("ParseHex(%q) = %x (nil %v), want %s", tt.in, got, got == nil, tt.want)
		}
	}
}

func TestParseHexErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, msg string }{
		{"486", `odd number of hex digits in "486"`},
		{"48 6", `odd number of hex digits in "6"`},
		{"0x4", `odd number of hex digits in "0x4"`},
		{"48 6g", `invalid hex character "g" at offset 4`},
		{"zz", `invalid hex character "z" at offset 0`},
		{"48 你", `invalid hex character "你" at offset 3`},
		{"48 \xff", `invalid hex character "\xff" at offset 3`},
		{"48 0x", `missing hex digits after "0x" at offset 3`},
		{`\x`, `missing hex digits after "\\x" at offset 0`},
		{`48 \q`, `invalid hex character "\\" at offset 3`},
		{"0x480x65", `invalid hex character "x" at offset 5`},
		{"48 # comment", `invalid hex character "#" at offset 3`},
		{"0xg0", `invalid hex character "g" at offset 2`},
	}
	for _, tt := range tests {
		got, err := ParseHex(tt.in)
		if err == nil {
			t.Errorf("ParseHex(%q) = %x, want error", tt.in, got)
			continue
		}
		u := usageError(t, err)
		if u.Msg != tt.msg {
			t.Errorf("ParseHex(%q): %q, want %q", tt.in, u.Msg, tt.msg)
		}
		if u.Hint == "" {
			t.Errorf("ParseHex(%q): no hint", tt.in)
		}
	}
	// On error AppendParseHex leaves dst as it was.
	if got, err := AppendParseHex([]byte("ab"), "41 4"); err == nil || string(got) != "ab" {
		t.Errorf("AppendParseHex on error = %q, %v", got, err)
	}
}

func TestAppendHex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in            []byte
		plain, spaced string
	}{
		{nil, "", ""},
		{[]byte{0}, "00", "00"},
		{[]byte("hello"), "68656c6c6f", "68 65 6c 6c 6f"},
		{[]byte{0xde, 0xad, 0xbe, 0xef}, "deadbeef", "de ad be ef"},
	}
	for _, tt := range tests {
		if got := string(AppendHex([]byte("<"), tt.in)); got != "<"+tt.plain {
			t.Errorf("AppendHex(%x) = %q", tt.in, got)
		}
		if got := string(AppendHexSpaced([]byte("<"), tt.in)); got != "<"+tt.spaced {
			t.Errorf("AppendHexSpaced(%x) = %q", tt.in, got)
		}
	}
}

var dumpSizes = []int{0, 1, 6, 8, 9, 15, 16, 17, 31, 32, 33, 100}

// dumpInput is printable text with every kind of byte mixed in, so both
// columns are exercised.
func dumpInput(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 'A')
	}
	if n > 5 {
		copy(b, "Hello\n")
	}
	return b
}

func TestAppendDump(t *testing.T) {
	t.Parallel()
	var all bytes.Buffer
	for _, n := range dumpSizes {
		fmt.Fprintf(&all, "== %d bytes\n", n)
		all.Write(AppendDump(nil, dumpInput(n), 0))
	}
	fmt.Fprintf(&all, "== 20 bytes at offset 0x1234\n")
	all.Write(AppendDump(nil, dumpInput(20), 0x1234))
	fmt.Fprintf(&all, "== 3 bytes at offset 1<<32\n")
	all.Write(AppendDump(nil, dumpInput(3), 1<<32))

	golden := filepath.Join("testdata", "dump.golden")
	if *update {
		if err := os.WriteFile(golden, all.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(all.Bytes(), want) {
		t.Errorf("dump differs from %s (go test -update rewrites it):\n%s", golden, all.Bytes())
	}

	if got := AppendDump(nil, []byte("Hello\n"), 0); string(got) !=
		"00000000  48 65 6c 6c 6f 0a                                 |Hello.|\n" {
		t.Errorf("AppendDump(Hello\\n) = %q", got)
	}
}

// TestAppendDumpHexdump compares with the real hexdump -C where it is
// installed (bsdextrautils on Debian; scripts/install-peers.sh installs it). hexdump squeezes repeated lines and
// prints a closing length line; -v and dropping that line make the two the
// same format.
func TestAppendDumpHexdump(t *testing.T) {
	t.Parallel()
	path := sockittest.Need(t, "hexdump")
	for _, n := range dumpSizes {
		src := dumpInput(n)
		cmd := exec.Command(path, "-C", "-v")
		cmd.Stdin = bytes.NewReader(src)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hexdump: %v", err)
		}
		lines := strings.SplitAfter(string(out), "\n")
		// Drop the length line ("00000011\n") and the empty tail.
		want := strings.Join(lines[:max(0, len(lines)-2)], "")
		if got := string(AppendDump(nil, src, 0)); got != want {
			t.Errorf("%d bytes:\n got %q\nwant %q", n, got, want)
		}
	}
}

func TestParseEOL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"lf", "\n"}, {"LF", "\n"}, {"crlf", "\r\n"}, {"CRLF", "\r\n"}, {"cr", "\r"},
		{"none", ""}, {"", ""}, {"\n", "\n"}, {"\r\n", "\r\n"}, {"\r", "\r"},
		{`\n`, "\n"}, {`\r\n`, "\r\n"}, {`\r`, "\r"}, {" lf ", "\n"},
	}
	for _, tt := range tests {
		got, err := ParseEOL(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseEOL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, hint string }{
		{"crl", "Did you mean crlf?"},
		{"lff", "Did you mean lf?"},
		{"windows", "Note that line endings are lf, crlf, cr and none."},
	} {
		_, err := ParseEOL(tt.in)
		if err == nil {
			t.Errorf("ParseEOL(%q) succeeded", tt.in)
			continue
		}
		if u := usageError(t, err); u.Msg != fmt.Sprintf("unknown line ending %q", tt.in) || u.Hint != tt.hint {
			t.Errorf("ParseEOL(%q): %q / %q", tt.in, u.Msg, u.Hint)
		}
	}
}
