package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ListenPacketGroup binds up to n UDP sockets to ep's address, one per
// core, among which the kernel spreads senders (SO_REUSEPORT) and which
// share the port with no other socket.
//
// SO_REUSEPORT alone would not do: any socket of the same user that sets
// it may join a group, before or after sockit binds, and then receives a
// share of the datagrams (a second "sockit listen -u --echo" on the same
// port would bind without error). So:
//
//  1. The first socket binds as ListenPacket does, with no sharing option
//     at all, so that it fails with "address already in use" if any
//     socket holds the port, whatever its options. From then on, a socket
//     without SO_REUSEPORT can never bind the port.
//  2. Only then is SO_REUSEPORT set on it, and the siblings, which set it
//     before their bind, join its group (the kernel makes the group when
//     the first sibling joins).
//  3. A classic BPF program on the group picks the socket for each
//     datagram from the sender's address and port, as an index below n:
//     a stranger that joins the group later (it must set SO_REUSEPORT
//     and be the same user) gets an index of n or more, and so never a
//     datagram. The kernel's own choice hashes the same fields, so a
//     sender still always meets the same socket.
//
// What is left is a stranger that sets SO_REUSEPORT in the moment between
// steps 1 and 2: it joins at a low index. A second sockit cannot (its step
// 1 fails). If any step after 1 fails, the group is given up and the first
// socket alone is returned, its SO_REUSEPORT cleared: slower, still
// sockit's alone.
func (lc *ListenConfig) ListenPacketGroup(ctx context.Context, ep Endpoint, n int) ([]net.PacketConn, error) {
	first, err := lc.ListenPacket(ctx, ep)
	if err != nil {
		return nil, err
	}
	pcs := []net.PacketConn{first}
	if n <= 1 || !ep.IsUDP() {
		return pcs, nil
	}
	if err := setReusePort(first, 1); err != nil {
		return pcs, nil
	}
	nlc := net.ListenConfig{Control: lc.control(ep, lc.joinGroup)}
	addr := first.LocalAddr().String()
	for len(pcs) < n && err == nil {
		var pc net.PacketConn
		if pc, err = nlc.ListenPacket(ctx, ep.Network(), addr); err == nil {
			pcs = append(pcs, pc)
		}
	}
	if err == nil {
		err = steer(first, n)
	}
	if err != nil {
		for _, pc := range pcs[1:] {
			pc.Close()
		}
		if setReusePort(first, 0) != nil {
			first.Close()
			return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: err}
		}
		if lc.Trace != nil {
			lc.Trace("one socket instead of %d per core: %v", n, err)
		}
		return pcs[:1], nil
	}
	if lc.Trace != nil {
		lc.Trace("%d sockets on %s, one per core (SO_REUSEPORT), steered by sender: no other socket receives from this port", n, addr)
	}
	return pcs, nil
}

// joinGroup is a sibling's bind option: SO_REUSEPORT, to join the group.
func (lc *ListenConfig) joinGroup(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if lc.Trace != nil {
		lc.Trace("setsockopt(fd %d, SO_REUSEPORT, 1)  (another socket on the same port, for another core)", fd)
	}
	return nil
}

func setReusePort(pc net.PacketConn, on int) error {
	return withFD(pc, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, on)
	})
}

// steer attaches the program that picks a group member by sender.
func steer(pc net.PacketConn, n int) error {
	prog, err := steering(n)
	if err != nil {
		return err
	}
	return withFD(pc, func(fd int) error {
		fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
		return os.NewSyscallError("setsockopt SO_ATTACH_REUSEPORT_CBPF",
			unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog))
	})
}

// netOff is SKF_NET_OFF (-0x100000) as the unsigned offset a load takes:
// loads from netOff+k read byte k of the IP header. (A reuseport program
// otherwise sees the datagram's payload.)
const netOff = 0xfff00000

// steering is a classic BPF program that returns, for a datagram, an
// index in [0, n): a hash of its source address and port. IPv4 headers
// are taken to be 20 bytes and IPv6 ones to have no extension headers
// before UDP; where that is wrong the program still reads the same bytes
// for every datagram of a sender, which is all it needs.
func steering(n int) ([]bpf.RawInstruction, error) {
	if n < 1 {
		return nil, errors.New("no sockets to steer to")
	}
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: netOff, Size: 1},               // 0: version and header length
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},   // 1: version
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipTrue: 4}, // 2: IPv6 → 7
		bpf.LoadAbsolute{Off: netOff + 12, Size: 4},          // 3: IPv4 source address
		bpf.TAX{}, // 4
		bpf.LoadAbsolute{Off: netOff + 20, Size: 2}, // 5: source port
		bpf.Jump{Skip: 12},                          // 6 → 19
		bpf.LoadAbsolute{Off: netOff + 8, Size: 4},  // 7: IPv6 source address, four words
		bpf.TAX{}, // 8
		bpf.LoadAbsolute{Off: netOff + 12, Size: 4},          // 9
		bpf.ALUOpX{Op: bpf.ALUOpXor},                         // 10
		bpf.TAX{},                                            // 11
		bpf.LoadAbsolute{Off: netOff + 16, Size: 4},          // 12
		bpf.ALUOpX{Op: bpf.ALUOpXor},                         // 13
		bpf.TAX{},                                            // 14
		bpf.LoadAbsolute{Off: netOff + 20, Size: 4},          // 15
		bpf.ALUOpX{Op: bpf.ALUOpXor},                         // 16
		bpf.TAX{},                                            // 17
		bpf.LoadAbsolute{Off: netOff + 40, Size: 2},          // 18: source port
		bpf.ALUOpX{Op: bpf.ALUOpXor},                         // 19: port ^ address
		bpf.ALUOpConstant{Op: bpf.ALUOpMul, Val: 0x9e3779b1}, // 20: mix
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 16},  // 21
		bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: uint32(n)},  // 22
		bpf.RetA{}, // 23
	})
}

// withFD runs f on pc's file descriptor.
func withFD(pc net.PacketConn, f func(fd int) error) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
