package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/endpoint"
)

func newPorts(st *stdio) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "List the serial ports present, for serial:// endpoints",
		Long: `List the serial ports of this machine: the names serial:// endpoints take,
with the USB adapter's vendor and product IDs, serial number and name where
the system tells them.`,
		Example: `  sockit ports
  sockit ports --json
  sockit connect 'serial:///dev/ttyUSB0?baud=115200'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ports, err := endpoint.Ports()
			if err != nil {
				return err
			}
			if asJSON {
				if ports == nil {
					ports = []endpoint.PortInfo{}
				}
				b, _ := json.Marshal(ports)
				fmt.Fprintf(st.out, "%s\n", b)
				return nil
			}
			if len(ports) == 0 {
				fmt.Fprintln(st.err, "sockit: no serial ports found (a USB adapter shows up as /dev/ttyUSB0 or /dev/ttyACM0 on Linux, COM3 on Windows)")
				return nil
			}
			for _, p := range ports {
				line := p.Name
				if p.USB {
					line += fmt.Sprintf("\tUSB %s:%s", p.VID, p.PID)
					if p.Product != "" {
						line += " " + p.Product
					}
					if p.Serial != "" {
						line += " serial " + p.Serial
					}
				}
				fmt.Fprintln(st.out, line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the ports as a JSON array")
	return cmd
}
