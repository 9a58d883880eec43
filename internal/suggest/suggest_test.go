package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"gbk", "gbk", 0},
		{"gkb", "gbk", 1}, // a swap is one step
		{"len61", "len16", 1},
		{"utf8", "utf-8", 1},
		{"crc", "crc32", 2},
		{"abc", "", 3},
		{"shiftjis", "shift_jis", 1},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", c.b, c.a, got, c.want)
		}
	}
	long := string(make([]byte, 100))
	if Distance(long, "gbk") < 100 {
		t.Error("a long string must not be near a short name")
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"connect", "listen", "send", "relay", "bench", "ping", "scan", "replay", "ui", "version"}
	for _, c := range []struct{ in, want string }{
		{"conect", "connect"},
		{"connetc", "connect"},
		{"lisen", "listen"},
		{"sned", "send"},
		{"benhc", "bench"},
		{"pign", "ping"},
		{"connect", "connect"},
		{"frobnicate", ""},
		{"x", ""},
		{"", ""},
		{"zz", ""},
	} {
		if got := Closest(c.in, cmds); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Closest("udp", []string{"tcp", "udp"}); got != "udp" {
		t.Errorf("an exact match must win: got %q", got)
	}
	if got := Closest("tpc", []string{"tcp", "udp"}); got != "tcp" {
		t.Errorf("a swap is one step: got %q", got)
	}
}
