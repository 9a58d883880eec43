//go:build !linux

package endpoint

import "github.com/sockit/sockit/internal/fail"

const bindDevSupported = false

func bindToDevice(int, string) error {
	return fail.Errorf(fail.Unknown, "%s (SO_BINDTODEVICE) exists on Linux only", OptBindDev)
}
