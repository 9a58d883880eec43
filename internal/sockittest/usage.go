package sockittest

import (
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
)

// Usage is bad input as sockit's command line shows it: the message and
// the hint line, with the engine's options written as flags (--frame).
type Usage struct {
	Msg, Hint string
}

func (u *Usage) Error() string { return u.Msg }

// AsUsage reports whether err is bad input (fail.BadInput, exit 2), and
// gives its message and hint as the command line words them.
func AsUsage(err error) (*Usage, bool) {
	if err == nil || fail.KindOf(err) != fail.BadInput {
		return nil, false
	}
	return &Usage{Msg: exitcode.Message(err), Hint: exitcode.Hint(err)}, true
}
