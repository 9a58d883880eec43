//go:build !linux

package endpoint

// onlyJoinedGroups does nothing: other systems deliver a group's
// datagrams only to the sockets that joined it.
func onlyJoinedGroups(int, bool) {}
