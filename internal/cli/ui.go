package cli

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/units"
	"github.com/sockit/sockit/internal/web"
)

type uiFlags struct {
	addr    string
	addrSet bool // --addr was given: no going back to the last address
	open    bool
	maxLog  string
}

func newUI(st *stdio) *cobra.Command {
	var f uiFlags
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the web UI: TCP and UDP sessions, a live log and a send box in the browser",
		Long: `Serve sockit's web UI, the network debugging assistant in a browser tab:
open TCP client, TCP server and UDP sessions side by side, see every message
with its time, direction, peer and length (as text in any encoding or as
hex), send text or hex once or repeatedly, keep messages you send often, and
answer clients by rules.

sockit prints the address to open; it carries a random token, without which
the page refuses to load. It listens on 127.0.0.1, on the port it had last
time (a random one the first time, or when that one is taken) unless
--addr says otherwise, and keeps the token: a tab left open reconnects
after a restart. The sessions of the last run are offered in the page,
to reopen with one click. A session that would listen where others can reach
it (every interface, another address, a Unix socket) asks for confirmation
in the page, and each one confirmed is noted here on stderr. Saved messages
and the workspace (sessions, rules, history, the token) live in
$SOCKIT_CONFIG_DIR, or in sockit/ under your configuration directory
(~/.config/sockit).`,
		Example: `  sockit ui                          # prints http://127.0.0.1:PORT/?token=…
  sockit ui --open                   # and opens it in your browser
  sockit ui --addr 127.0.0.1:8080    # a fixed port`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.addrSet = cmd.Flags().Changed("addr")
			return runUI(cmd.Context(), st, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:0", "address to serve the UI on (HOST:PORT)")
	fs.StringVar(&f.maxLog, "max-log", "64MiB", "memory each session's log may hold; the oldest events go first (SIZE: 16MiB, 1G)")
	fs.BoolVar(&f.open, "open", false, "open the page in the default browser ("+browserOpener()+")")
	return cmd
}

func runUI(ctx context.Context, st *stdio, f *uiFlags) error {
	ep, err := endpoint.Parse(f.addr, endpoint.Options{Listen: true})
	if err != nil {
		return err
	}
	if ep.Scheme != "tcp" && ep.Scheme != "tcp4" && ep.Scheme != "tcp6" {
		return exitcode.Usagef("--addr %q: the UI is served over plain TCP (HOST:PORT)", f.addr)
	}
	if !web.IsLoopback(ep.Address()) {
		st.errorf("warning: the UI on %s can be reached from other machines; anyone who has the URL can open sockets from this one", ep.Address())
	}
	maxLog, err := units.ParseSize(f.maxLog)
	if err != nil || maxLog < 1<<20 {
		return exitcode.Usagef("--max-log %q: want a size of 1MiB or more, such as 64MiB or 1G", f.maxLog)
	}
	ui := web.New(web.Options{Version: Version, MaxLog: maxLog, Logf: func(format string, args ...any) { st.errorf(format, args...) }})
	lc := &endpoint.ListenConfig{}
	var ln net.Listener
	if last := ui.LastAddr(); !f.addrSet && last != "" && web.IsLoopback(last) {
		// The address of the last run, so that a tab left open finds it
		// again; taken by now, a new one.
		if lep, err := endpoint.Parse(last, endpoint.Options{Listen: true}); err == nil {
			ln, _ = lc.Listen(ctx, lep)
		}
	}
	if ln == nil {
		if ln, err = lc.Listen(ctx, ep); err != nil {
			return err
		}
	}
	url := ui.URL(ln.Addr())
	fmt.Fprintf(st.err, "sockit: listening on %s (http)\n", ln.Addr())
	fmt.Fprintln(st.out, url)
	if f.open {
		openBrowser(st, url)
	}
	if err := ui.Serve(ctx, ln); err != nil {
		return err
	}
	return ctx.Err() // Ctrl-C: "interrupted", as every command
}

// openBrowser tries the system's opener; the URL is printed either way.
func openBrowser(st *stdio, url string) {
	c := browserCommand(runtime.GOOS, url)
	if err := c.Start(); err != nil {
		st.errorf("note: could not open a browser (%v): open the URL above yourself", err)
		return
	}
	go c.Wait()
}
