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
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel() // first Ctrl-C: shut down cleanly
		<-sig
		fmt.Fprintln(os.Stderr, "sockit: interrupted twice, exiting now")
		os.Exit(130)
	}()
	restore := console.Prepare() // Windows: colours and the prompt need VT processing
	code := cli.Main(ctx, os.Args[1:])
	restore()
	os.Exit(code)
}
