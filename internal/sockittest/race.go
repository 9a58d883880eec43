//go:build race

package sockittest

const raceEnabled = true
