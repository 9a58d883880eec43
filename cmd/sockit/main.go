// Command sockit talks TCP, UDP, TLS and Unix sockets: see 'sockit --help'.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/internal/console"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	// SIGHUP (the terminal went away, a supervisor's reload) and SIGTERM
	// end a run as Ctrl-C does: conversations close, and --record gets its
	// last data and the close events before sockit exits.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// A closed stdout pipe then gives EPIPE to the write, which sockit
	// handles (cli: outputs.go), instead of killing it before --record is
	// flushed. Notify rather than Ignore: an ignored SIGPIPE would be
	// inherited by --exec's processes.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	go func() {
		<-sig
		cancel() // first signal: shut down cleanly
		<-sig
		fmt.Fprintln(os.Stderr, "sockit: interrupted twice, exiting now")
		os.Exit(130)
	}()
	restore := console.Prepare() // Windows: colours and the prompt need VT processing
	code := cli.Main(ctx, os.Args[1:])
	restore()
	os.Exit(code)
}
