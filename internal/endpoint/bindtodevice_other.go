//go:build !linux

package endpoint

import "errors"

const bindDevSupported = false

func bindToDevice(int, string) error {
	return errors.New("--bind-dev (SO_BINDTODEVICE) exists on Linux only")
}
