//go:build !linux || sockit_portable

package endpoint

// abstractAutobind: only Linux autobinds unixgram sockets to an abstract
// name; elsewhere a unixgram client binds a file of its own (see
// tempUnixgram).
const abstractAutobind = false

func autobind(uintptr) error { return nil }
