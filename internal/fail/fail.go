// Package fail gives the engine's errors a kind (bad input, refused,
// timed out, TLS, reset, no match) that a front end maps to what it
// shows without reading the message: the command line to its exit codes,
// the web UI to its form.
//
// A message says what is wrong in the engine's words. Where it names one
// of a conversation's options (the framing, the largest message), it
// names it as an Option, which each front end writes its own way: the
// command line as its flag (--frame), the web UI as the option's name.
// Error gives the engine's own wording; Text gives a front end's.
//
// Where what failed is governed by an option (a limit reached, a list
// that refused), the message says so in plain words ("exceeds the
// maximum message size") and the error carries the option beside it
// (About, OptionOf): events carry it too, and a front end points at it
// its own way, the command line as the flag to change.
//
// It does not classify the system's errors (a refused connect, a reset
// from the kernel): those keep their own types, and a front end reads
// them with errors.Is and errors.As.
package fail

import (
	"errors"
	"fmt"
)

// Kind is what sort of failure an error is.
type Kind uint8

const (
	Unknown  Kind = iota // not said: the front end looks at the cause
	BadInput             // what was asked for is wrong: an option, an endpoint, data to send
	Refused              // refused, unreachable, not found
	Timeout              // took too long
	TLS                  // the TLS layer failed: handshake, verification, pin
	Reset                // reset or broken by the peer
	NoMatch              // what arrived is not what was expected
)

var kindNames = [...]string{"unknown", "bad input", "refused", "timeout", "tls", "reset", "no match"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Option names one of a conversation's options in a message: "frame",
// "max-message". A front end writes it its own way (see Error.Text).
type Option string

// Namer writes an Option as a front end shows it. nil writes the
// option's own name.
type Namer func(Option) string

// Error is an engine error with a kind, a message and, where there is
// something to try, a hint: a second line that starts "Note that …" or
// "Did you mean …?".
type Error struct {
	Kind Kind
	Err  error // the cause, if any (Unwrap)
	msg  text
	hint text
	opt  Option
}

// text is a message kept as its format and arguments, so that its
// Options can be written the way each front end wants, when it is shown.
type text struct {
	format string
	args   []any
}

func (t text) render(name Namer) string {
	if t.format == "" {
		return ""
	}
	args := make([]any, len(t.args))
	for i, a := range t.args {
		switch v := a.(type) {
		case Option:
			if name != nil {
				args[i] = name(v)
			} else {
				args[i] = string(v)
			}
		case *Error:
			args[i] = v.Text(name)
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(t.format, args...)
}

// Sprintf formats as fmt.Sprintf does, with each Option argument written
// by name (nil: by the option's own name): for an error type of its own
// that words its hint for a front end (a HintText method).
func Sprintf(name Namer, format string, args ...any) string {
	return text{format, args}.render(name)
}

// Errorf returns an error of kind k with a formatted message. Arguments
// that are Options are written by the front end's Namer; *Error
// arguments are written with it too.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, msg: text{format, args}}
}

// Inputf returns a BadInput error with a formatted message.
func Inputf(format string, args ...any) *Error {
	return Errorf(BadInput, format, args...)
}

// WithHint sets e's hint, formatted as Errorf formats messages, and
// returns e.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.hint = text{format, args}
	return e
}

// Wrapf returns a BadInput error of the same kind as inner whose message
// is format's followed by ": " and inner's, keeping inner's hint: a
// parser that calls another says where the error is.
func Wrapf(inner *Error, format string, args ...any) *Error {
	e := &Error{Kind: inner.Kind, Err: inner, hint: inner.hint, opt: inner.opt}
	e.msg = text{format + ": %s", append(args[:len(args):len(args)], inner)}
	return e
}

// About says which option governs what failed (the limit that was
// reached, the list that refused), for a front end that points at it
// (see OptionOf), and returns e. The message itself need not name it.
func (e *Error) About(o Option) *Error {
	e.opt = o
	return e
}

// Option is the option e is about (see About), or "".
func (e *Error) Option() Option { return e.opt }

// OptionOf is the option that governs what failed, as the first error in
// err's chain that says one tells it: an *Error made with About, or any
// error with an Option method (a message larger than the framing
// allows). "" when none does. A front end shows it next to the engine's
// message, which names no flag: the command line as a flag to change,
// the web UI as the form field's label; events carry it as their Option.
func OptionOf(err error) Option {
	for err != nil {
		if o, ok := err.(interface{ Option() Option }); ok {
			if opt := o.Option(); opt != "" {
				return opt
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if o := OptionOf(e); o != "" {
					return o
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// Because sets e's cause and returns e.
func (e *Error) Because(err error) *Error {
	e.Err = err
	return e
}

// Error is the message in the engine's words: each Option by its name.
func (e *Error) Error() string { return e.msg.render(nil) }

// Text is the message with each Option written by name.
func (e *Error) Text(name Namer) string { return e.msg.render(name) }

// Hint is the second line in the engine's words, or "".
func (e *Error) Hint() string { return e.hint.render(nil) }

// HintText is the second line with each Option written by name, or "".
func (e *Error) HintText(name Namer) string { return e.hint.render(name) }

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Err }

// FailKind is e's kind (see KindOf).
func (e *Error) FailKind() Kind { return e.Kind }

// KindOf is the kind of the first error in err's chain that says one:
// an *Error, or any error with a FailKind method (endpoint's refusals and
// TLS failures). Unknown when none does.
func KindOf(err error) Kind {
	for err != nil {
		if k, ok := err.(interface{ FailKind() Kind }); ok {
			if kind := k.FailKind(); kind != Unknown {
				return kind
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if k := KindOf(e); k != Unknown {
					return k
				}
			}
			return Unknown
		default:
			return Unknown
		}
	}
	return Unknown
}

// As finds the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsInput reports whether err is bad input.
func IsInput(err error) bool { return KindOf(err) == BadInput }
