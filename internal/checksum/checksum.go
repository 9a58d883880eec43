// Package checksum appends and verifies the short checksums that serial
// style device protocols put at the end of each message — the "append
// checksum" box of the network debugging assistants — for --checksum and
// --verify-checksum.
//
// Byte orders on the wire, as the protocols that use them expect:
//
//	sum8          1 byte: sum of all bytes mod 256
//	xor8          1 byte: xor of all bytes (a block check character)
//	crc8          1 byte: CRC-8 (poly 0x07, init 0x00, not reflected; check 0xF4)
//	crc16-modbus  2 bytes, low byte first, as Modbus RTU sends it
//	              (poly 0x8005 reflected, init 0xFFFF; check 0x4B37 → 37 4b)
//	crc16-ccitt   2 bytes, big-endian: CRC-16/CCITT-FALSE
//	              (poly 0x1021, init 0xFFFF, not reflected; check 0x29B1 → 29 b1)
//	crc32         4 bytes, big-endian: IEEE 802.3 as in zlib and PNG
//	              (check 0xCBF43926 → cb f4 39 26)
//
// The check values are those of the 9 bytes "123456789". The package does
// not find message boundaries; that is internal/frame's job.
package checksum

import (
	"encoding/binary"
	"hash/crc32"
	"strings"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/suggest"
)

// Algo is one checksum algorithm. The zero value is not usable; get one
// from Lookup.
type Algo struct {
	Name string // canonical name, as Lookup accepts it
	Size int    // bytes Append adds to a message

	sum func(p []byte) uint32
	put func(dst []byte, v uint32) []byte // append v as sent
	get func(b []byte) uint32             // read v back; len(b) == Size
}

var algos = []*Algo{
	{Name: "sum8", Size: 1, sum: sum8, put: put8, get: get8},
	{Name: "xor8", Size: 1, sum: xor8, put: put8, get: get8},
	{Name: "crc8", Size: 1, sum: crc8, put: put8, get: get8},
	{Name: "crc16-modbus", Size: 2, sum: crc16Modbus, put: put16LE, get: get16LE},
	{Name: "crc16-ccitt", Size: 2, sum: crc16CCITT, put: put16BE, get: get16BE},
	{Name: "crc32", Size: 4, sum: crc32.ChecksumIEEE, put: put32BE, get: binary.BigEndian.Uint32},
}

// aliases are other names for the same algorithms, normalized (lower
// case, no '-', '_', '/' or spaces).
var aliases = map[string]string{
	"modbus":          "crc16-modbus",
	"crc16ccittfalse": "crc16-ccitt",
	"ccitt":           "crc16-ccitt",
	"crc32ieee":       "crc32",
	"bcc":             "xor8",
}

// Names returns the canonical names, for help text.
func Names() []string {
	names := make([]string, len(algos))
	for i, a := range algos {
		names[i] = a.Name
	}
	return names
}

// Lookup returns the algorithm called name: sum8, xor8, crc8, crc16-modbus,
// crc16-ccitt or crc32 (case-insensitive; '-' and '_' are optional). An
// unknown name is a *exitcode.UsageError with a hint.
func Lookup(name string) (*Algo, error) {
	key := normalize(name)
	if canon, ok := aliases[key]; ok {
		key = normalize(canon)
	}
	for _, a := range algos {
		if normalize(a.Name) == key {
			c := *a // a copy: no caller can change what another sees
			return &c, nil
		}
	}
	list := strings.Join(Names(), ", ")
	if best := closest(key); best != "" {
		return nil, fail.Inputf("unknown checksum %q", name).WithHint("%s", "Did you mean "+best+"?")
	}
	return nil, fail.Inputf("unknown checksum %q", name).WithHint("%s", "Note that the checksums are "+list+".")
}

// Sum returns the checksum of p. It does not allocate.
func (a *Algo) Sum(p []byte) uint32 { return a.sum(p) }

// Append appends msg and its checksum, in the algorithm's byte order, to
// dst.
func (a *Algo) Append(dst, msg []byte) []byte {
	return a.put(append(dst, msg...), a.sum(msg))
}

// Verify splits the trailing checksum off msg and checks it. payload is
// msg without the checksum; a message shorter than Size is not ok and has
// a nil payload.
func (a *Algo) Verify(msg []byte) (payload []byte, ok bool) {
	if len(msg) < a.Size {
		return nil, false
	}
	payload = msg[:len(msg)-a.Size]
	return payload, a.get(msg[len(payload):]) == a.sum(payload)
}

func put8(dst []byte, v uint32) []byte    { return append(dst, byte(v)) }
func put16LE(dst []byte, v uint32) []byte { return append(dst, byte(v), byte(v>>8)) }
func put16BE(dst []byte, v uint32) []byte { return append(dst, byte(v>>8), byte(v)) }
func get8(b []byte) uint32                { return uint32(b[0]) }
func get16LE(b []byte) uint32             { return uint32(binary.LittleEndian.Uint16(b)) }
func get16BE(b []byte) uint32             { return uint32(binary.BigEndian.Uint16(b)) }

func put32BE(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func sum8(p []byte) uint32 {
	var s byte
	for _, c := range p {
		s += c
	}
	return uint32(s)
}

func xor8(p []byte) uint32 {
	var s byte
	for _, c := range p {
		s ^= c
	}
	return uint32(s)
}

// The CRC tables are computed once at package initialization from their
// polynomials; they are never written afterwards.
var (
	crc8Table        = makeCRC8Table(0x07)
	crc16ModbusTable = makeCRC16ReflectedTable(0xa001) // 0x8005 reflected
	crc16CCITTTable  = makeCRC16Table(0x1021)
)

func makeCRC8Table(poly byte) *[256]byte {
	var t [256]byte
	for i := range t {
		c := byte(i)
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return &t
}

func makeCRC16ReflectedTable(poly uint16) *[256]uint16 {
	var t [256]uint16
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return &t
}

func makeCRC16Table(poly uint16) *[256]uint16 {
	var t [256]uint16
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return &t
}

func crc8(p []byte) uint32 {
	var c byte
	for _, b := range p {
		c = crc8Table[c^b]
	}
	return uint32(c)
}

func crc16Modbus(p []byte) uint32 {
	c := uint16(0xffff)
	for _, b := range p {
		c = c>>8 ^ crc16ModbusTable[byte(c)^b]
	}
	return uint32(c)
}

func crc16CCITT(p []byte) uint32 {
	c := uint16(0xffff)
	for _, b := range p {
		c = c<<8 ^ crc16CCITTTable[byte(c>>8)^b]
	}
	return uint32(c)
}

func normalize(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(name)) {
		switch c {
		case '-', '_', '/', ' ':
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// closest returns the name nearest to key when it is a likely slip: the
// names key begins ("crc16" → "crc16-modbus or crc16-ccitt"), else the one
// within two edits.
func closest(key string) string {
	var prefixed []string
	for _, a := range algos {
		if len(key) >= 3 && strings.HasPrefix(normalize(a.Name), key) {
			prefixed = append(prefixed, a.Name)
		}
	}
	if len(prefixed) > 0 {
		return strings.Join(prefixed, " or ")
	}
	best, bestD := "", 3
	for _, a := range algos {
		if d := suggest.Distance(key, normalize(a.Name)); d < bestD {
			best, bestD = a.Name, d
		}
	}
	return best
}
