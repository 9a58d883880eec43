package console

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestHelpListsREADMESlashCommands: /help spells every slash command the
// way both READMEs do ("Slash commands: …"), so that what the prompt
// says matches what the user read (/to PEER|#N|all, not /to PEER|all).
func TestHelpListsREADMESlashCommands(t *testing.T) {
	for _, name := range []string{"README.md", "README.zh-CN.md"} {
		src, err := os.ReadFile("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		// The paragraph from the first `/hex …` span to the `/quit` span.
		text := string(src)
		start := strings.Index(text, "`/hex ")
		end := strings.Index(text[max(start, 0):], "`/quit`")
		if start < 0 || end < 0 {
			t.Fatalf("%s: no slash-command paragraph (`/hex …` … `/quit`)", name)
		}
		para := text[start : start+end+len("`/quit`")]
		spans := regexp.MustCompile("`(/[^`/][^`]*)`").FindAllStringSubmatch(para, -1)
		if len(spans) < 6 {
			t.Fatalf("%s: found only %d slash commands in %q", name, len(spans), para)
		}
		for _, s := range spans {
			cmd := strings.Join(strings.Fields(s[1]), " ")
			if !strings.Contains(help, "  "+cmd+" ") {
				t.Errorf("%s shows %q, /help does not:\n%s", name, cmd, help)
			}
		}
	}
}
