//go:build linux || windows

package endpoint

import "go.bug.st/serial/enumerator"

// ports lists the ports with their USB details (the enumerator needs cgo
// on macOS, so other systems list names only).
func ports() ([]PortInfo, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, 0, len(list))
	for _, p := range list {
		out = append(out, PortInfo{Name: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID, Serial: p.SerialNumber, Product: p.Product})
	}
	return out, nil
}
