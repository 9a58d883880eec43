package fail

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const optFrame Option = "frame"

func flag(o Option) string { return "--" + string(o) }

func TestText(t *testing.T) {
	e := Inputf("bad %s %q: unknown framing %q", optFrame, "len99", "len99").
		WithHint("Note that %s takes raw, line…", optFrame)
	for _, c := range []struct{ got, want string }{
		{e.Error(), `bad frame "len99": unknown framing "len99"`},
		{e.Text(flag), `bad --frame "len99": unknown framing "len99"`},
		{e.Text(nil), e.Error()},
		{e.Hint(), "Note that frame takes raw, line…"},
		{e.HintText(flag), "Note that --frame takes raw, line…"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if Inputf("plain").Hint() != "" {
		t.Error("an error without a hint has one")
	}
	// A % in an argument is the argument's, not a verb.
	if got := Inputf("%s", "100%").Error(); got != "100%" {
		t.Errorf("got %q", got)
	}
}

func TestWrapf(t *testing.T) {
	inner := Inputf("unknown escape %s at offset %d", `\q`, 3).WithHint("Note that %s takes \\n, \\t…", Option("escapes"))
	e := Wrapf(inner, "%s %q", Option("reply"), `bad\q`)
	if got, want := e.Text(flag), `--reply "bad\\q": unknown escape \q at offset 3`; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got, want := e.HintText(flag), `Note that --escapes takes \n, \t…`; got != want {
		t.Errorf("HintText = %q, want %q", got, want)
	}
	if e.Kind != BadInput || !errors.Is(e, inner) {
		t.Errorf("kind %v, wraps inner: %v", e.Kind, errors.Is(e, inner))
	}
}

type refused struct{}

func (refused) Error() string        { return "refused" }
func (refused) FailKind() Kind       { return Refused }
func (refused) Unwrap() error        { return io.EOF }
func (refused) Timeout() bool        { return false }
func (refused) Temporary() bool      { return false }
func (refused) String() string       { return "refused" }
func (refused) Is(target error) bool { return false }

func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Kind
	}{
		{nil, Unknown},
		{io.EOF, Unknown},
		{Inputf("x"), BadInput},
		{fmt.Errorf("connect: %w", Errorf(TLS, "handshake")), TLS},
		{fmt.Errorf("a: %w", refused{}), Refused},
		{errors.Join(io.EOF, Errorf(Timeout, "slow")), Timeout},
		{Errorf(Unknown, "x").Because(Errorf(Reset, "y")), Reset},
		{Errorf(NoMatch, "differs").Because(Errorf(Reset, "y")), NoMatch},
	} {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !IsInput(fmt.Errorf("x: %w", Inputf("y"))) || IsInput(io.EOF) {
		t.Error("IsInput")
	}
	if Kind(200).String() != "kind 200" || BadInput.String() != "bad input" {
		t.Error("Kind.String")
	}
}

type optErr struct{ error }

func (optErr) Option() Option { return "max-message" }

func TestOptionOf(t *testing.T) {
	e := Errorf(Refused, "connection limit (%d) reached", 2).About("max-conns")
	for _, c := range []struct {
		err  error
		want Option
	}{
		{nil, ""},
		{io.EOF, ""},
		{e, "max-conns"},
		{fmt.Errorf("listen: %w", e), "max-conns"},
		{Wrapf(e, "peer %s", "127.0.0.1:1"), "max-conns"},
		{fmt.Errorf("recv: %w", optErr{io.ErrUnexpectedEOF}), "max-message"},
		{errors.Join(io.EOF, fmt.Errorf("x: %w", optErr{io.EOF})), "max-message"},
		{Inputf("plain"), ""},
	} {
		if got := OptionOf(c.err); got != c.want {
			t.Errorf("OptionOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if strings.Contains(e.Error(), "max-conns") {
		t.Errorf("the message %q names the option it is about", e.Error())
	}
	if got, want := Sprintf(flag, "Note that %s raises it.", Option("max-message")), "Note that --max-message raises it."; got != want {
		t.Errorf("Sprintf = %q, want %q", got, want)
	}
}
