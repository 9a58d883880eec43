package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPackReproducible: the same files give the same archive bytes
// whatever their timestamps, permissions beyond the executable bit, and
// the order the file system lists them in; entries are sorted, owned by
// root, stamped with -mtime.
func TestPackReproducible(t *testing.T) {
	mtime := time.Unix(1717243200, 0).UTC()
	for _, ext := range []string{".tar.gz", ".zip"} {
		var archives [2][]byte
		for i := range archives {
			dir := filepath.Join(t.TempDir(), "sockit_1.0.0_linux_amd64")
			files := []string{"sockit", "LICENSE", "man/sockit.1", "completions/sockit.bash"}
			if i == 1 {
				files = []string{"completions/sockit.bash", "man/sockit.1", "LICENSE", "sockit"}
			}
			for _, f := range files {
				p := filepath.Join(dir, f)
				os.MkdirAll(filepath.Dir(p), 0o700+0o055*os.FileMode(i))
				mode := os.FileMode(0o600 + 0o044*i)
				if f == "sockit" {
					mode = 0o700 + 0o055*os.FileMode(i)
				}
				if err := os.WriteFile(p, []byte("content of "+f), mode); err != nil {
					t.Fatal(err)
				}
				os.Chtimes(p, time.Unix(int64(1000*i), 0), time.Unix(int64(2000*i), 0))
			}
			out := filepath.Join(t.TempDir(), "a"+ext)
			if err := pack(out, dir, mtime); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			archives[i] = b
		}
		if !bytes.Equal(archives[0], archives[1]) {
			t.Errorf("%s: two packs of the same files differ", ext)
		}
		names, modes := list(t, ext, archives[0], mtime)
		want := []string{"sockit_1.0.0_linux_amd64/", "sockit_1.0.0_linux_amd64/LICENSE", "sockit_1.0.0_linux_amd64/completions/",
			"sockit_1.0.0_linux_amd64/completions/sockit.bash", "sockit_1.0.0_linux_amd64/man/", "sockit_1.0.0_linux_amd64/man/sockit.1",
			"sockit_1.0.0_linux_amd64/sockit"}
		if len(names) != len(want) {
			t.Fatalf("%s: entries %q, want %q", ext, names, want)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Errorf("%s: entry %d is %q, want %q", ext, i, names[i], want[i])
			}
		}
		if modes["sockit_1.0.0_linux_amd64/sockit"] != 0o755 || modes["sockit_1.0.0_linux_amd64/LICENSE"] != 0o644 {
			t.Errorf("%s: modes %v", ext, modes)
		}
	}
}

func list(t *testing.T, ext string, b []byte, mtime time.Time) ([]string, map[string]os.FileMode) {
	t.Helper()
	var names []string
	modes := map[string]os.FileMode{}
	if ext == ".zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			names = append(names, f.Name)
			modes[f.Name] = f.Mode().Perm()
			if !f.Modified.Equal(mtime) {
				t.Errorf("%s: time %v, want %v", f.Name, f.Modified, mtime)
			}
		}
		return names, modes
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = os.FileMode(h.Mode).Perm()
		if !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Uname != "root" {
			t.Errorf("%s: time %v uid %d %q", h.Name, h.ModTime, h.Uid, h.Uname)
		}
	}
	return names, modes
}
