package units

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "64k": 64 << 10, "64K": 64 << 10, "4M": 4 << 20, "1MiB": 1 << 20,
		"10MB": 10 << 20, "1G": 1 << 30, "1t": 1 << 40, "1.5k": 1536, " 2m ": 2 << 20, "7b": 7,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "abc", "1x", "NaN", "2000T", "1e400"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"4096", "64k", "1MiB", "-1", "nan", "1e9g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && (n < 0 || n > 1<<50) {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "500k": 500_000, "100M": 100_000_000, "100m": 100_000_000, "1.5G": 1_500_000_000,
		"10G": 10_000_000_000, "1T": 1_000_000_000_000, "100Mbit/s": 100_000_000, "100Mbps": 100_000_000,
		" 2mbit ": 2_000_000, "64kbits/s": 64_000,
	} {
		if got, err := ParseBitrate(in); err != nil || got != want {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1M", "M", "abc", "1x", "NaN", "11T", "1e400", "0.5", "inf", "100MB"} {
		if _, err := ParseBitrate(in); err == nil {
			t.Errorf("ParseBitrate(%q) accepted", in)
		}
	}
}

func TestHasBitUnit(t *testing.T) {
	for in, want := range map[string]bool{
		"10mbit": true, "10Mbit/s": true, "10mbits/s": true, "10mbps": true, "64kbits": true, " 1bit ": true,
		"10m": false, "1MB/s": false, "64k/s": false, "": false, "bi": false,
	} {
		if got := HasBitUnit(in); got != want {
			t.Errorf("HasBitUnit(%q) = %v", in, got)
		}
	}
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"100M", "1.5G", "64kbit/s", "-1", "nan", "1e9t", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseBitrate(s); err == nil && (n < 1 || n > MaxBitrate) {
			t.Fatalf("ParseBitrate(%q) = %d", s, n)
		}
	})
}
