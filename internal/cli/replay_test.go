package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadScriptCancelled: reading a transcript stops when the run is
// cancelled (SIGTERM), however much of the file is left.
func TestLoadScriptCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.jsonl")
	line := `{"t":"2026-11-26T10:00:00Z","event":"data","conn":1,"dir":"in","len":2,"data":"aGk="}` + "\n"
	if err := os.WriteFile(p, []byte(strings.Repeat(line, 10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := loadScript(context.Background(), p, 0); err != nil || len(s.Steps) != 10000 {
		t.Fatalf("loadScript = %v; want 10000 steps", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := loadScript(ctx, p, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("loadScript after cancel = %v, want context.Canceled", err)
	}
}
