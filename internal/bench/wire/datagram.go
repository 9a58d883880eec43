package wire

import (
	"encoding/binary"
	"math/rand/v2"
)

// HeaderLen is the length of a data datagram's header; the rest of the
// datagram is padding up to the run's --size.
//
//	offset  size  field
//	0       4     token: the server's Ack.Token (0 to a plain echo server)
//	4       8     sequence number, from 0, one per datagram of the stream
//	12      8     send time: nanoseconds since the stream began, on the
//	              sender's monotonic clock
//
// All big-endian.
const HeaderLen = 20

// magicToken is the first four bytes of Magic read as a token: no server
// hands it out, so a datagram that starts with it is a control message.
const magicToken = uint32('S')<<24 | uint32('O')<<16 | uint32('C')<<8 | uint32('K')

// PutHeader writes a data datagram's header into b (at least HeaderLen
// bytes).
func PutHeader(b []byte, token uint32, seq uint64, sentNS int64) {
	_ = b[HeaderLen-1]
	binary.BigEndian.PutUint32(b[0:], token)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint64(b[12:], uint64(sentNS))
}

// ParseHeader reads a data datagram's header; ok is false when b is too
// short to have one.
func ParseHeader(b []byte) (token uint32, seq uint64, sentNS int64, ok bool) {
	if len(b) < HeaderLen {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint32(b[0:]), binary.BigEndian.Uint64(b[4:]), int64(binary.BigEndian.Uint64(b[12:])), true
}

// IsControl reports whether a datagram is a control message rather than
// data.
func IsControl(b []byte) bool {
	return len(b) >= 4 && binary.BigEndian.Uint32(b) == magicToken
}

// NewToken returns a random token for a new UDP stream.
func NewToken() uint32 {
	for {
		if t := rand.Uint32(); t != 0 && t != magicToken {
			return t
		}
	}
}
