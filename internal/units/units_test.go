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
