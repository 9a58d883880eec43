package cli

import (
	"os"

	"github.com/spf13/cobra"
)

// Command returns sockit's command tree, for generating its man pages and
// shell completions (scripts/gendocs); sockit itself runs Main.
func Command() *cobra.Command {
	return newRoot(&stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, inFile: os.Stdin, outFile: os.Stdout})
}
