package cli

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/impair"
	"github.com/sockit/sockit/internal/relay"
)

// impairFlags are relay's --impair and --seed (README "Fault injection").
type impairFlags struct {
	spec string
	seed uint64
	fs   *pflag.FlagSet // to tell --seed 0 and --impair '' from absent flags
}

func (f *impairFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.spec, "impair", "", "make the relay a bad network: delay=100ms,jitter=20ms,rate=1mbit; loss=2%,dup=1%,reorder=1% (UDP); chunk=1-16,reset-after=1MB,stall-after=64k (TCP)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for --impair's random choices, to repeat a run (default: a new one, printed)")
}

// apply wires the faults into r: every client connection, every upstream
// connection and, for UDP, the listening socket, so that each direction
// meets them once. It prints the spec and seed on stderr, and returns a
// function that prints what the faults did, for when the relay ends.
func (f *impairFlags) apply(st *stdio, r *relay.Relay) (summary func(), err error) {
	if !f.fs.Changed("impair") {
		if f.fs.Changed("seed") {
			return nil, exitcode.WithHint("Note that --seed repeats the random choices of --impair SPEC.", "--seed without --impair")
		}
		return func() {}, nil
	}
	// An empty --impair '' is an error, not "no faults": a script whose
	// SPEC variable came out empty must not test against a good network.
	sp, err := impair.Parse(f.spec)
	if err != nil {
		return nil, err
	}
	sp.Seed = f.seed
	if !f.fs.Changed("seed") {
		var b [8]byte
		rand.Read(b[:])
		sp.Seed = uint64(binary.BigEndian.Uint32(b[:4])) // short enough to type back
	}
	ct := &impair.Counters{}
	sp.Counters = ct
	if err := r.Impair(sp); err != nil {
		return nil, err
	}
	fmt.Fprintf(st.err, "sockit: impairing each direction with %s (--seed %d repeats this run)\n", sp, sp.Seed)
	packet := r.From.IsPacket()
	return func() {
		if packet {
			fmt.Fprintf(st.err, "sockit: impair: %d datagrams, %d lost, %d duplicated, %d reordered, %d dropped by a full delay queue\n",
				ct.Datagrams.Load(), ct.Lost.Load(), ct.Duplicated.Load(), ct.Reordered.Load(), ct.Overflow.Load())
		} else if sp.ResetAfter > 0 || sp.StallAfter > 0 {
			fmt.Fprintf(st.err, "sockit: impair: %d connections reset, %d stalled\n", ct.Resets.Load(), ct.Stalls.Load())
		}
	}, nil
}
