package checksum

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// The standard check values (the checksum of "123456789") and how each is
// laid out on the wire.
func TestCheckValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		size int
		sum  uint32
		wire string // hex of what Append adds
	}{
		{"sum8", 1, 0xdd, "dd"}, // 0x31+…+0x39 = 477 = 0x1dd
		{"xor8", 1, 0x31, "31"},
		{"crc8", 1, 0xf4, "f4"},
		{"crc16-modbus", 2, 0x4b37, "374b"}, // low byte first
		{"crc16-ccitt", 2, 0x29b1, "29b1"},  // big-endian
		{"crc32", 4, 0xcbf43926, "cbf43926"},
	}
	msg := []byte("123456789")
	for _, tt := range tests {
		a, err := Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != tt.name || a.Size != tt.size {
			t.Errorf("%s: Name %q Size %d", tt.name, a.Name, a.Size)
		}
		if got := a.Sum(msg); got != tt.sum {
			t.Errorf("%s Sum = %#x, want %#x", tt.name, got, tt.sum)
		}
		out := a.Append([]byte("<"), msg)
		if want := "<123456789" + string(mustHex(t, tt.wire)); string(out) != want {
			t.Errorf("%s Append = % x, want % x", tt.name, out, want)
		}
		payload, ok := a.Verify(out[1:])
		if !ok || !bytes.Equal(payload, msg) {
			t.Errorf("%s Verify(Append) = %q, %v", tt.name, payload, ok)
		}
		// Any flipped bit in the checksum is caught.
		bad := bytes.Clone(out[1:])
		bad[len(bad)-1] ^= 0x01
		if _, ok := a.Verify(bad); ok {
			t.Errorf("%s Verify accepted a bad checksum", tt.name)
		}
	}
}

// A real Modbus RTU frame: read holding registers, slave 1, address 0,
// count 10 is 01 03 00 00 00 0a c5 cd.
func TestModbusFrame(t *testing.T) {
	t.Parallel()
	a, _ := Lookup("crc16-modbus")
	got := a.Append(nil, mustHex(t, "01030000000a"))
	if hex.EncodeToString(got) != "01030000000ac5cd" {
		t.Errorf("modbus frame = % x", got)
	}
}

func TestEmptyAndShort(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		a, _ := Lookup(name)
		if payload, ok := a.Verify(make([]byte, a.Size-1)); ok || payload != nil {
			t.Errorf("%s Verify(short) = %v, %v", name, payload, ok)
		}
		empty := a.Append(nil, nil)
		if len(empty) != a.Size {
			t.Errorf("%s Append(empty) = % x", name, empty)
		}
		if payload, ok := a.Verify(empty); !ok || len(payload) != 0 {
			t.Errorf("%s Verify(Append(empty)) = %v, %v", name, payload, ok)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"sum8": "sum8", "SUM8": "sum8", "xor8": "xor8", "bcc": "xor8", "crc8": "crc8",
		"crc16-modbus": "crc16-modbus", "CRC16_MODBUS": "crc16-modbus", "crc16modbus": "crc16-modbus",
		"crc-16/modbus": "crc16-modbus", "modbus": "crc16-modbus",
		"crc16-ccitt": "crc16-ccitt", "crc-16/ccitt-false": "crc16-ccitt",
		"crc32": "crc32", "CRC-32": "crc32", " crc32 ": "crc32",
	} {
		a, err := Lookup(in)
		if err != nil || a.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, tt := range []struct{ in, hint string }{
		{"sum", "Did you mean sum8?"},
		{"xor", "Did you mean xor8?"},
		{"crc33", "Did you mean crc32?"},
		{"crc16-modbsu", "Did you mean crc16-modbus?"},
		{"crc16", "Did you mean crc16-modbus or crc16-ccitt?"},
		{"checksum", "Note that the checksums are sum8, xor8, crc8, crc16-modbus, crc16-ccitt, crc32."},
		{"md5", "Note that the checksums are"},
	} {
		_, err := Lookup(tt.in)
		u, ok := sockittest.AsUsage(err)
		if !ok {
			t.Errorf("Lookup(%q): %v, want a usage error", tt.in, err)
			continue
		}
		if u.Msg != `unknown checksum "`+tt.in+`"` || !strings.HasPrefix(u.Hint, tt.hint) {
			t.Errorf("Lookup(%q): %q / %q", tt.in, u.Msg, u.Hint)
		}
	}
}

// Lookup hands out copies: changing one does not change another.
func TestLookupCopies(t *testing.T) {
	t.Parallel()
	a, _ := Lookup("crc32")
	a.Size = 1
	if b, _ := Lookup("crc32"); b.Size != 4 {
		t.Errorf("Size changed to %d", b.Size)
	}
}

func TestSumNoAllocs(t *testing.T) {
	msg := bytes.Repeat([]byte("x"), 100)
	for _, name := range Names() {
		a, _ := Lookup(name)
		dst := make([]byte, 0, 200)
		if n := testing.AllocsPerRun(100, func() {
			a.Sum(msg)
			dst = a.Append(dst[:0], msg)
			a.Verify(dst)
		}); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("123456789"), uint8(0))
	f.Add([]byte{}, uint8(3))
	f.Add([]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0a}, uint8(3))
	f.Add([]byte("\xff\xff\xff\xff"), uint8(5))
	names := Names()
	f.Fuzz(func(t *testing.T, msg []byte, which uint8) {
		a, err := Lookup(names[int(which)%len(names)])
		if err != nil {
			t.Fatal(err)
		}
		out := a.Append(nil, msg)
		if len(out) != len(msg)+a.Size {
			t.Fatalf("%s Append length %d", a.Name, len(out))
		}
		payload, ok := a.Verify(out)
		if !ok || !bytes.Equal(payload, msg) {
			t.Fatalf("%s Verify(Append(% x)) = % x, %v", a.Name, msg, payload, ok)
		}
		a.Verify(msg) // arbitrary input: must not panic
	})
}

func BenchmarkSum(b *testing.B) {
	msg := bytes.Repeat([]byte("0123456789abcdef"), 64)
	for _, name := range Names() {
		a, _ := Lookup(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				a.Sum(msg)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
