package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/bench"
	"github.com/sockit/sockit/internal/exitcode"
)

func newBenchMerge(st *stdio) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "merge [FILE...]",
		Short: "Add up the summaries of several sockit bench agents that ran at once",
		Long: `Read the NDJSON that sockit bench --json printed on several hosts (or
several processes) at the same time, and add their summaries up into one:
bytes, operations and connections are summed, as are the rates (the agents
ran at once); latency percentiles are read off the agents' histograms
merged, never averaged; UDP loss is recomputed from the summed counts.

Each FILE may hold one agent's output or several concatenated; - or no
FILE reads stdin. Interval lines are skipped. Summaries of different
--modes do not add up and are refused. docs/bench-json.md describes the
lines, README.md ("Many hosts") how to start the agents.`,
		Example: `  parallel -j0 'sockit bench --json -c 4 -d 10 10.0.0.9:5201 > agent-{}.ndjson' ::: 1 2 3 4
  sockit bench merge agent-*.ndjson
  for h in web1 web2; do ssh $h sockit bench --json -d 10 db:5201 & done | sockit bench merge --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				if st.inTTY {
					return exitcode.WithHint("Run 'sockit bench merge --help' for examples.", "bench merge needs the agents' NDJSON: FILE arguments, or on stdin")
				}
				args = []string{"-"}
			}
			var all []*bench.Result
			for _, name := range args {
				var sums []*bench.Result
				var err error
				if name == "-" {
					sums, err = bench.ReadSummaries(st.in, "stdin")
				} else {
					f, oerr := os.Open(name)
					if oerr != nil {
						return oerr
					}
					sums, err = bench.ReadSummaries(f, name)
					f.Close()
				}
				if err != nil {
					return err
				}
				all = append(all, sums...)
			}
			m, err := bench.Merge(all)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(st.out).Encode(m)
			}
			fmt.Fprintf(st.out, "sockit bench merge: %d summar%s\n", len(all), map[bool]string{true: "y", false: "ies"}[len(all) == 1])
			printSummary(st.out, m)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged summary as one JSON line (the summary schema, with agents and hosts)")
	return cmd
}
