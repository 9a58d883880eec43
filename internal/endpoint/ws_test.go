package endpoint

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/sockit/sockit/internal/exitcode"
)

func TestParseHeader(t *testing.T) {
	h := http.Header{}
	for _, s := range []string{"Authorization: Bearer abc", "X-A:1", "x-a:  2  ", "Origin: https://example.test"} {
		if err := ParseHeader(h, s); err != nil {
			t.Errorf("ParseHeader(%q): %v", s, err)
		}
	}
	if h.Get("Authorization") != "Bearer abc" || strings.Join(h.Values("X-A"), ",") != "1,2" {
		t.Errorf("headers %v", h)
	}
	for _, s := range []string{"", "no colon", ": empty name", "a b: c", "Upgrade: x", "Sec-WebSocket-Key: x", "Sec-WebSocket-Protocol: chat", "X: a\r\nY: b", "(bad): x", "X: \x00"} {
		err := ParseHeader(http.Header{}, s)
		var ue *exitcode.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("ParseHeader(%q) = %v, want a usage error", s, err)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"Authorization: Bearer abc", "X:", ":", "a\nb: c", "Upgrade: websocket", "X: \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{}
		err := ParseHeader(h, s)
		if err != nil {
			var ue *exitcode.UsageError
			if !errors.As(err, &ue) || strings.Contains(ue.Msg, "\n") {
				t.Fatalf("ParseHeader(%q): %v is not a one-line usage error", s, err)
			}
			return
		}
		for name, vs := range h {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Fatalf("ParseHeader(%q) gave header name %q", s, name)
			}
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("ParseHeader(%q) gave a value with a line break: %q", s, v)
				}
			}
		}
	})
}
