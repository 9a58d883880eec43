//go:build !race

package sockittest

const raceEnabled = false
