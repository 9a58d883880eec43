package cli

import (
	"context"
	"io"
	"os"
	"regexp"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/talk"
)

// runConnectExpect is connect --expect REGEX: pipe mode, with the exit
// status saying whether what arrived matched (0, at once) or not (1, when
// the peer closes or --wait passes after the input ended). It is for
// scripts and health checks, so it never shows the prompt.
func runConnectExpect(ctx context.Context, st *stdio, f *clientFlags, arg, expect string) error {
	re, err := regexp.Compile(expect)
	if err != nil {
		return exitcode.Usagef("bad --expect: %v", err)
	}

	// The input, wrapped to tell when it ends: the --wait starts then.
	fc := *f
	pst := *st
	pst.inTTY = false
	in := io.Reader(st.in)
	if f.data.file != "" {
		file, err := os.Open(f.data.file)
		if err != nil {
			return exitcode.Usagef("--file: %v", err)
		}
		defer file.Close()
		in, fc.data.file = file, ""
	}
	conv, err := fc.conversation(&pst, arg, talk.Client)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	ep, wait := conv.Endpoint(), f.opt.Wait
	x := conv.Expect(re, wait)
	pst.in = x.Input(in)

	c, err := conv.dial(ctx, st)
	if err != nil {
		return err
	}
	outcome, err := x.Run(ctx, c, func(ctx context.Context) error { return conv.run(ctx, &pst, c) })
	switch {
	case outcome == talk.Matched:
		return nil
	case outcome == talk.TimedOut:
		return exitcode.Mismatchf("nothing from %s matched --expect %q within %s after the input ended (--wait)", ep, expect, wait)
	case err != nil:
		return err
	}
	return exitcode.Mismatchf("%s closed the connection without a match for --expect %q", ep, expect)
}
