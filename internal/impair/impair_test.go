package impair

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"delay=100ms", Spec{Delay: 100 * time.Millisecond}},
		{"delay=100ms,jitter=20ms,rate=1mbit", Spec{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond, Rate: 125000}},
		{" delay = 1s , jitter=0 ", Spec{Delay: time.Second}},
		{"rate=100kbit", Spec{Rate: 12500}},
		{"rate=1Gbit", Spec{Rate: 125000000}},
		{"rate=8bit", Spec{Rate: 1}},
		{"rate=64k/s", Spec{Rate: 65536}},
		{"rate=1MB/s", Spec{Rate: 1 << 20}},
		{"rate=1MiB/s", Spec{Rate: 1 << 20}},
		// The bit rates of sockit bench --bitrate (units.ParseBitrate).
		{"rate=10mbit/s", Spec{Rate: 1_250_000}},
		{"rate=64kbits", Spec{Rate: 8000}},
		{"rate=1Tbit", Spec{Rate: 125_000_000_000}},
		{"loss=2%,dup=1%,reorder=1%", Spec{Loss: 0.02, Dup: 0.01, Reorder: 0.01}},
		{"loss=0.5%", Spec{Loss: 0.005}},
		{"loss=100%", Spec{Loss: 1}},
		{"loss=0%", Spec{}},
		{"duplicate=3%", Spec{Dup: 0.03}},
		{"chunk=1-16", Spec{ChunkMin: 1, ChunkMax: 16}},
		{"chunk=64", Spec{ChunkMin: 64, ChunkMax: 64}},
		{"chunk=1-1k", Spec{ChunkMin: 1, ChunkMax: 1024}},
		{"reset-after=1MB", Spec{ResetAfter: 1 << 20}},
		{"reset-after=1500", Spec{ResetAfter: 1500}},
		{"stall-after=64k", Spec{StallAfter: 64 << 10}},
		{"DELAY=5ms", Spec{Delay: 5 * time.Millisecond}},
		{"delay=50ms,jitter=20ms,chunk=1-64", Spec{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, ChunkMin: 1, ChunkMax: 64}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty spec"},
		{"   ", "empty spec"},
		{"delay", "needs a value"},
		{"delay=", "needs a value"},
		{"delay=100", "not a duration"},
		{"delay=-5ms", "out of range"},
		{"delay=2h", "out of range"},
		{"delay=1ms,delay=2ms", "given twice"},
		{"delay=1ms,,jitter=1ms", "empty item"},
		{"delay=1ms,", "empty item"},
		{"latency=5ms", `unknown fault "latency"`},
		{"rate=1000", "needs a unit"},
		{"rate=10m", "needs a unit"},
		{"rate=10mbps", "tc reads bps as bytes per second, others as bits: write 10mbit (bits) or 10M/s (bytes)"},
		{"rate=500Mbps", "write 500mbit"},
		{"rate=0mbit", "use 100kbit"},
		{"rate=-1mbit", "use 100kbit"},
		{"rate=xbit", "use 100kbit"},
		{"rate=0/s", "bytes per second"},
		{"rate=1bit", "below 1 byte"},
		{"rate=1.1e13bit", "use 100kbit"},
		{"rate=11tbit/s", "use 100kbit"},
		{"loss=2", "needs a percentage"},
		{"loss=101%", "not a percentage"},
		{"loss=-1%", "not a percentage"},
		{"loss=NaN%", "not a percentage"},
		{"loss=x%", "not a percentage"},
		{"chunk=0", "use N or MIN-MAX"},
		{"chunk=16-1", "use N or MIN-MAX"},
		{"chunk=1-2M", "use N or MIN-MAX"},
		{"chunk=1-", "use N or MIN-MAX"},
		{"chunk=-", "use N or MIN-MAX"},
		{"reset-after=0", "at least 1 byte"},
		{"reset-after=many", "at least 1 byte"},
		{"stall-after=-1", "at least 1 byte"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %q, want it to say %q", tt.in, err, tt.want)
		}
		if msg := exitcode.Message(err); !strings.HasPrefix(msg, "bad --impair: ") || strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q) = %q: want one line starting 'bad --impair: '", tt.in, err)
		}
		_, ok := sockittest.AsUsage(err)
		if !ok || exitcode.Code(err) != exitcode.Usage {
			t.Errorf("Parse(%q): error %T is not a usage error (exit 2)", tt.in, err)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, in := range []string{
		"delay=100ms,jitter=20ms,rate=1mbit",
		"loss=2%,dup=1%,reorder=1%",
		"loss=33.3%",
		"chunk=1-16,reset-after=1MB",
		"chunk=7,stall-after=10",
		"rate=12345/s",
	} {
		a, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		b, err := Parse(a.String())
		if err != nil {
			t.Fatalf("Parse(%q) (String of %q): %v", a.String(), in, err)
		}
		if a != b {
			t.Errorf("%q: String %q parses to %+v, want %+v", in, a.String(), b, a)
		}
	}
}

func TestCheck(t *testing.T) {
	udpOnly, _ := Parse("loss=2%,dup=1%")
	tcpOnly, _ := Parse("chunk=1-16,reset-after=1k")
	both, _ := Parse("delay=10ms,jitter=1ms,rate=1mbit")
	if err := udpOnly.Check(true); err != nil {
		t.Errorf("loss on UDP: %v", err)
	}
	if err := udpOnly.Check(false); err == nil || !strings.Contains(err.Error(), "loss, dup applies to UDP") || exitcode.Code(err) != exitcode.Usage {
		t.Errorf("loss on TCP: %v", err)
	}
	if err := tcpOnly.Check(false); err != nil {
		t.Errorf("chunk on TCP: %v", err)
	}
	if err := tcpOnly.Check(true); err == nil || !strings.Contains(err.Error(), "chunk, reset-after applies to TCP") {
		t.Errorf("chunk on UDP: %v", err)
	}
	if both.Check(true) != nil || both.Check(false) != nil {
		t.Error("delay, jitter and rate apply to both")
	}
	if !(Spec{}).IsZero() || both.IsZero() {
		t.Error("IsZero")
	}
}

func TestRandRepeats(t *testing.T) {
	s := Spec{Seed: 42}
	a, b, c := s.Rand(1), s.Rand(1), s.Rand(2)
	same, differ := true, false
	for range 100 {
		x, y, z := a.Uint64(), b.Uint64(), c.Uint64()
		same = same && x == y
		differ = differ || x != z
	}
	if !same || !differ {
		t.Errorf("same seed and stream repeat: %v; another stream differs: %v", same, differ)
	}
}
