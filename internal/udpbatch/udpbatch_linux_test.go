package udpbatch

import (
	"bytes"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSendRecv moves a batch of datagrams over loopback with one sendmmsg
// and reads them back with recvmmsg, each whole and in order.
func TestSendRecv(t *testing.T) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	const n = 8
	payloads := make([][]byte, n)
	out := make([]Msg, n)
	oiov := make([]unix.Iovec, n)
	for i := range out {
		payloads[i] = bytes.Repeat([]byte{byte('a' + i)}, 10+i)
		oiov[i].Base = &payloads[i][0]
		oiov[i].SetLen(len(payloads[i]))
		out[i].Hdr.Iov = &oiov[i]
		out[i].Hdr.SetIovlen(1)
	}
	trc, _ := tx.SyscallConn()
	sent, errno, err := Send(trc, out)
	if err != nil || errno != 0 || sent != n {
		t.Fatalf("Send = %d, %v, %v; want %d", sent, errno, err, n)
	}

	in := make([]Msg, n)
	iiov := make([]unix.Iovec, n)
	bufs := make([][]byte, n)
	for i := range in {
		bufs[i] = make([]byte, 2048)
		iiov[i].Base = &bufs[i][0]
		iiov[i].SetLen(len(bufs[i]))
		in[i].Hdr.Iov = &iiov[i]
		in[i].Hdr.SetIovlen(1)
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	rrc, _ := rx.SyscallConn()
	got := 0
	for got < n {
		k, errno, err := Recv(rrc, in[got:])
		if err != nil || errno != 0 {
			t.Fatalf("Recv after %d: %v, %v", got, errno, err)
		}
		got += k
	}
	for i := range payloads {
		if b := bufs[i][:in[i].Len]; !bytes.Equal(b, payloads[i]) {
			t.Errorf("datagram %d = %q, want %q", i, b, payloads[i])
		}
	}
}

func TestSegmentControl(t *testing.T) {
	var ctl [64]byte
	n := PutSegment(ctl[:], 1200)
	if n != unix.CmsgSpace(2) {
		t.Fatalf("PutSegment length %d, want %d", n, unix.CmsgSpace(2))
	}
	h := (*unix.Cmsghdr)(unsafePointer(&ctl[0]))
	if h.Level != unix.SOL_UDP || h.Type != unix.UDP_SEGMENT {
		t.Fatalf("control header %d/%d, want SOL_UDP/UDP_SEGMENT", h.Level, h.Type)
	}
	if GROSize(ctl[:], n) != 0 {
		t.Error("a UDP_SEGMENT message read as UDP_GRO")
	}
	if GROSize(ctl[:], 3) != 0 {
		t.Error("a short control buffer gave a segment size")
	}
}

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }
