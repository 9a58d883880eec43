package endpoint

import "golang.org/x/sys/unix"

// onlyJoinedGroups turns off IP_MULTICAST_ALL (IPV6_MULTICAST_ALL): Go
// binds a multicast listener to the wildcard address, and Linux would
// then hand it the datagrams of every group any socket on the host has
// joined on that port, not only of its own. Kernels without the IPv6
// option (before 4.20) keep their behaviour.
func onlyJoinedGroups(fd int, v6 bool) {
	if v6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
}
