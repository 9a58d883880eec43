package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// sockit's first readers read Chinese, so README.zh-CN.md covers all that
// README.md does, section for section (issue 10). These tests keep the two
// in step mechanically: a section, a command, a flag or a table row added
// to one README and not the other fails here, before a reader finds the
// Chinese one behind. The prose is translated and is not compared; what
// must be the same in both is:
//
//   - the headings: the same levels in the same order, so every English
//     section and subsection has its Chinese counterpart at its place;
//   - in each section, every code block: the same kind (fenced or
//     indented), the same language, and line for line the same text once
//     a trailing `# comment` is cut off (commands work as printed in both;
//     only their comments are translated);
//   - in each section, every table: the same number of rows, and the same
//     code (`--flag`, `tcp://…`) in the first cell of each row;
//   - every `code span` of an English section appears in its Chinese
//     section (flags, file names, messages sockit prints stay as they are);
//   - both start with the two set-up commands, link to each other, and
//     every link from one to a section of the other names a heading that
//     exists.

const (
	readmeEN = "README.md"
	readmeZH = "README.zh-CN.md"
)

// setupCommands are the first lines of both READMEs: build-and-run, then
// the test command.
var setupCommands = []string{"bash scripts/demo.sh", "bash scripts/test.sh"}

// mdDoc is a README cut into sections at its headings.
type mdDoc struct {
	name     string
	src      []byte
	sections []mdSection
	links    []mdLink
}

// mdSection is a heading and what follows it up to the next heading. The
// first section is the document's title (level 1).
type mdSection struct {
	level  int
	title  string
	line   int
	blocks []mdBlock
	tables []mdTable
	spans  []string // code spans, whitespace collapsed, in order
}

type mdBlock struct {
	line  int
	kind  string // "fenced" or "indented"
	info  string // the fence's language
	lines []string
}

type mdTable struct {
	line int
	rows [][]string // per body row, the code spans of its first cell
}

type mdLink struct {
	line int
	dest string
}

func readREADME(t *testing.T, name string) *mdDoc {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return parseREADME(name, src)
}

// repoRoot is the module root: two levels up from test/interop.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// parseREADME parses Markdown as GitHub shows it (CommonMark and GFM
// tables) and cuts it into sections.
func parseREADME(name string, src []byte) *mdDoc {
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	root := md.Parser().Parse(text.NewReader(src))
	d := &mdDoc{name: name, src: src}
	lineOf := func(offset int) int { return 1 + strings.Count(string(src[:offset]), "\n") }
	cur := func() *mdSection {
		if len(d.sections) == 0 { // text before any heading
			d.sections = append(d.sections, mdSection{level: 0, line: 1})
		}
		return &d.sections[len(d.sections)-1]
	}
	for top := root.FirstChild(); top != nil; top = top.NextSibling() {
		if h, ok := top.(*ast.Heading); ok {
			line := 1
			if h.Lines().Len() > 0 {
				line = lineOf(h.Lines().At(0).Start)
			}
			d.sections = append(d.sections, mdSection{level: h.Level, title: inlineText(h, src), line: line})
			continue
		}
		s := cur()
		ast.Walk(top, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			switch n := n.(type) {
			case *ast.FencedCodeBlock:
				b := mdBlock{kind: "fenced", lines: blockLines(n, src)}
				if n.Info != nil {
					b.info = strings.TrimSpace(string(n.Info.Segment.Value(src)))
				}
				b.line = blockLine(n, lineOf)
				s.blocks = append(s.blocks, b)
				return ast.WalkSkipChildren, nil
			case *ast.CodeBlock:
				s.blocks = append(s.blocks, mdBlock{kind: "indented", lines: blockLines(n, src), line: blockLine(n, lineOf)})
				return ast.WalkSkipChildren, nil
			case *extast.Table:
				tb := mdTable{line: blockLine(n, lineOf)}
				for row := n.FirstChild(); row != nil; row = row.NextSibling() {
					if _, ok := row.(*extast.TableRow); !ok {
						continue // the header is translated
					}
					tb.rows = append(tb.rows, codeSpans(row.FirstChild(), src))
				}
				s.tables = append(s.tables, tb)
			case *ast.CodeSpan:
				s.spans = append(s.spans, inlineText(n, src))
				return ast.WalkSkipChildren, nil
			case *ast.Link:
				line := s.line
				if p := n.Parent(); p != nil && p.Type() == ast.TypeBlock && p.Lines().Len() > 0 {
					line = lineOf(p.Lines().At(0).Start)
				}
				d.links = append(d.links, mdLink{line: line, dest: string(n.Destination)})
			}
			return ast.WalkContinue, nil
		})
	}
	return d
}

func blockLines(n ast.Node, src []byte) []string {
	var out []string
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		out = append(out, strings.TrimRight(string(seg.Value(src)), "\n"))
	}
	return out
}

// blockLine is the line a block starts on (a fence's first content line,
// a table's header).
func blockLine(n ast.Node, lineOf func(int) int) int {
	for c := n; c != nil; c = c.FirstChild() {
		if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
			return lineOf(c.Lines().At(0).Start)
		}
	}
	return 0
}

// inlineText is the text of an inline container (a heading, a code
// span), with runs of white space as one space.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func codeSpans(n ast.Node, src []byte) []string {
	var out []string
	if n == nil {
		return out
	}
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if cs, ok := c.(*ast.CodeSpan); ok && entering {
			out = append(out, inlineText(cs, src))
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return out
}

// commandPart cuts a trailing shell comment off a code line: from the
// first '#' that starts a word outside quotes. What is left, right
// trimmed, is what must be the same in both READMEs.
func commandPart(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && unicode.IsSpace(prev):
			return strings.TrimRightFunc(line[:i], unicode.IsSpace)
		}
		prev = r
	}
	return strings.TrimRightFunc(line, unicode.IsSpace)
}

func (s mdSection) heading() string {
	if s.level == 0 {
		return "(before the first heading)"
	}
	return fmt.Sprintf("%s %s (line %d)", strings.Repeat("#", s.level), s.title, s.line)
}

// readmeDiffs lists every way zh is out of step with en; empty when they
// are in step.
func readmeDiffs(en, zh *mdDoc) []string {
	var diffs []string
	same := len(en.sections) == len(zh.sections)
	for i := 0; i < min(len(en.sections), len(zh.sections)); i++ {
		e, z := en.sections[i], zh.sections[i]
		d := sectionDiffs(en.name, e, zh.name, z)
		if e.level != z.level || (!same && len(d) > 0) {
			// The headings part here. Sections after this one would
			// only repeat the shift, so this is the one thing to say.
			return append(diffs, fmt.Sprintf("%s has %d headings, %s %d; they part at %s in %s, %s in %s: "+
				"each section of %s needs its counterpart in %s, at the same place and level",
				en.name, len(en.sections), zh.name, len(zh.sections),
				e.heading(), en.name, z.heading(), zh.name, en.name, zh.name))
		}
		diffs = append(diffs, d...)
	}
	switch {
	case len(en.sections) > len(zh.sections):
		diffs = append(diffs, fmt.Sprintf("%s has %s and %d headings after it that %s lacks: translate them there",
			en.name, en.sections[len(zh.sections)].heading(), len(en.sections)-len(zh.sections)-1, zh.name))
	case len(zh.sections) > len(en.sections):
		diffs = append(diffs, fmt.Sprintf("%s has %s, which %s lacks: the Chinese README has no section of its own",
			zh.name, zh.sections[len(en.sections)].heading(), en.name))
	}
	return diffs
}

// sectionDiffs compares the code blocks, tables and code spans of a
// section with its counterpart.
func sectionDiffs(enName string, e mdSection, zhName string, z mdSection) []string {
	var diffs []string
	where := fmt.Sprintf("%s %s ↔ %s %s", enName, e.heading(), zhName, z.heading())
	add := func(format string, args ...any) { diffs = append(diffs, where+": "+fmt.Sprintf(format, args...)) }
	if len(e.blocks) != len(z.blocks) {
		add("%d code blocks in English, %d in Chinese", len(e.blocks), len(z.blocks))
	}
	for j := 0; j < min(len(e.blocks), len(z.blocks)); j++ {
		eb, zb := e.blocks[j], z.blocks[j]
		if eb.kind != zb.kind || eb.info != zb.info {
			add("code block %d is %s %q in English (line %d), %s %q in Chinese (line %d)",
				j+1, eb.kind, eb.info, eb.line, zb.kind, zb.info, zb.line)
			continue
		}
		if len(eb.lines) != len(zb.lines) {
			add("code block %d has %d lines in English (line %d), %d in Chinese (line %d)",
				j+1, len(eb.lines), eb.line, len(zb.lines), zb.line)
		}
		for k := 0; k < min(len(eb.lines), len(zb.lines)); k++ {
			if ec, zc := commandPart(eb.lines[k]), commandPart(zb.lines[k]); ec != zc {
				add("code block %d, line %d differs (only a trailing # comment may be translated):\n\t%s:%d: %s\n\t%s:%d: %s",
					j+1, k+1, enName, eb.line+k, ec, zhName, zb.line+k, zc)
			}
		}
	}
	if len(e.tables) != len(z.tables) {
		add("%d tables in English, %d in Chinese", len(e.tables), len(z.tables))
	}
	for j := 0; j < min(len(e.tables), len(z.tables)); j++ {
		et, zt := e.tables[j], z.tables[j]
		if len(et.rows) != len(zt.rows) {
			add("table %d has %d rows in English (line %d), %d in Chinese (line %d)",
				j+1, len(et.rows), et.line, len(zt.rows), zt.line)
		}
		for k := 0; k < min(len(et.rows), len(zt.rows)); k++ {
			if !slices.Equal(et.rows[k], zt.rows[k]) {
				add("table %d, row %d starts with %q in English (table at line %d), %q in Chinese (line %d)",
					j+1, k+1, et.rows[k], et.line, zt.rows[k], zt.line)
			}
		}
	}
	var missing []string
	for _, sp := range e.spans {
		if !slices.Contains(z.spans, sp) && !slices.Contains(missing, sp) {
			missing = append(missing, sp)
		}
	}
	if len(missing) > 0 {
		add("code the Chinese section does not show: `%s`", strings.Join(missing, "`, `"))
	}
	return diffs
}

// TestREADMEsInStep: README.zh-CN.md has every section, command, table row
// and code span that README.md has (see the comment at the top).
func TestREADMEsInStep(t *testing.T) {
	t.Parallel()
	en, zh := readREADME(t, readmeEN), readREADME(t, readmeZH)
	for _, d := range readmeDiffs(en, zh) {
		t.Error(d)
	}
	if t.Failed() {
		t.Logf("keep %s in step with %s: translate the prose, keep each command byte for byte (translate only its # comment)", readmeZH, readmeEN)
	}
}

// TestREADMEsStartWithSetup: the top of each README is the two set-up
// commands, before any section.
func TestREADMEsStartWithSetup(t *testing.T) {
	t.Parallel()
	for _, name := range []string{readmeEN, readmeZH} {
		d := readREADME(t, name)
		if len(d.sections) < 2 || d.sections[0].level != 1 || d.sections[1].level != 2 {
			t.Errorf("%s: want a title, then ## sections", name)
			continue
		}
		var got []string
		if bs := d.sections[0].blocks; len(bs) > 0 {
			for _, l := range bs[0].lines {
				got = append(got, commandPart(l))
			}
		}
		if !slices.Equal(got, setupCommands) {
			t.Errorf("%s: the first code block, under the title, is %q; want the set-up commands %q", name, got, setupCommands)
		}
	}
}

// TestREADMELinks: each README links to the other, and a link to a section
// of either names a heading that is there (as GitHub makes anchors).
func TestREADMELinks(t *testing.T) {
	t.Parallel()
	docs := map[string]*mdDoc{readmeEN: readREADME(t, readmeEN), readmeZH: readREADME(t, readmeZH)}
	other := map[string]string{readmeEN: readmeZH, readmeZH: readmeEN}
	for name, d := range docs {
		linked := false
		for _, l := range d.links {
			file, anchor, _ := strings.Cut(l.dest, "#")
			if file == "" {
				file = name
			}
			target, ok := docs[file]
			if !ok {
				continue
			}
			if file == other[name] {
				linked = true
			}
			if anchor != "" && !slices.Contains(anchors(target), anchor) {
				t.Errorf("%s:%d: the link %q names no heading of %s (anchors: %q)", name, l.line, l.dest, file, anchors(target))
			}
		}
		if !linked {
			t.Errorf("%s has no link to %s", name, other[name])
		}
	}
}

// anchors are the fragment names GitHub gives a document's headings:
// lower case, spaces as hyphens, punctuation dropped, a -1, -2… suffix on
// repeats.
func anchors(d *mdDoc) []string {
	var out []string
	seen := map[string]int{}
	for _, s := range d.sections {
		if s.level == 0 {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(s.title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		a := b.String()
		if k := seen[a]; k > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, k))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// TestREADMEDiffsCatchDrift: the comparison finds each kind of drift (a
// comparison that found nothing would pass for two READMEs in step).
func TestREADMEDiffsCatchDrift(t *testing.T) {
	t.Parallel()
	const en = "# t\n\n```sh\nbash scripts/demo.sh    # build\n```\n\n## A\n\n" +
		"Use `--foo` here.\n\n| flag | meaning |\n| --- | --- |\n| `--foo` | foo |\n\n" +
		"```sh\nsockit listen 8888   # a server\n```\n\n    sockit: an error\n\n## B\n\ntext\n"
	const zh = "# t\n\n```sh\nbash scripts/demo.sh    # 编译\n```\n\n## 甲\n\n" +
		"这里用 `--foo`。\n\n| 选项 | 含义 |\n| --- | --- |\n| `--foo` | 甲 |\n\n" +
		"```sh\nsockit listen 8888         # 服务器\n```\n\n    sockit: an error\n\n## 乙\n\n文字\n"
	if d := readmeDiffs(parseREADME("en", []byte(en)), parseREADME("zh", []byte(zh))); len(d) != 0 {
		t.Fatalf("two READMEs in step (comments translated) reported as different: %q", d)
	}
	cases := []struct{ what, en, want string }{
		{"a new last section", en + "\n## C\n\nmore\n", "has ## C (line 25) and 0 headings after it that zh lacks"},
		{"a new section", strings.Replace(en, "## A", "## A0\n\n`--new`\n\n## A", 1), "they part at ## A0 (line 7) in en, ## 甲 (line 7) in zh"},
		{"a new subsection", strings.Replace(en, "## B", "### A2\n\nx\n\n## B", 1), "they part at ### A2"},
		{"a changed command", strings.Replace(en, "listen 8888", "listen -k 8888", 1), "line 1 differs"},
		{"a new command", strings.Replace(en, "# a server\n", "# a server\nsockit send 127.0.0.1:8888 hi\n", 1), "has 2 lines in English"},
		{"a new code block", strings.Replace(en, "## B\n\ntext\n", "## B\n\n```sh\nsockit version\n```\n", 1), "1 code blocks in English, 0 in Chinese"},
		{"a changed message", strings.Replace(en, "an error", "another error", 1), "line 1 differs"},
		{"a new table row", strings.Replace(en, "| `--foo` | foo |\n", "| `--foo` | foo |\n| `--bar` | bar |\n", 1), "has 2 rows in English"},
		{"a renamed flag", strings.Replace(en, "| `--foo` | foo |", "| `--foo2` | foo |", 1), "row 1 starts with"},
		{"a new flag in prose", strings.Replace(en, "Use `--foo` here.", "Use `--foo` or `--baz` here.", 1), "does not show: `--baz`"},
	}
	for _, c := range cases {
		d := readmeDiffs(parseREADME("en", []byte(c.en)), parseREADME("zh", []byte(zh)))
		if !slices.ContainsFunc(d, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("%s: want a difference saying %q, got %q", c.what, c.want, d)
		}
	}
}

// TestREADMENoParagraphTwice: no paragraph of prose is printed twice in
// either README (a merge once left README.zh-CN.md saying what CI runs
// twice, at the top and again after the platform table).
func TestREADMENoParagraphTwice(t *testing.T) {
	t.Parallel()
	for _, name := range []string{readmeEN, readmeZH} {
		src, err := os.ReadFile(filepath.Join(repoRoot(t), name))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, p := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n\n") {
			p = strings.TrimSpace(p)
			// Prose only: code, tables and short lines may well repeat.
			if len([]rune(p)) < 80 || strings.HasPrefix(p, "```") || strings.HasPrefix(p, "|") || strings.HasPrefix(p, "    ") {
				continue
			}
			if j, ok := seen[p]; ok {
				t.Errorf("%s: paragraph %d repeats paragraph %d:\n%s", name, i+1, j+1, p)
				continue
			}
			seen[p] = i
		}
	}
}
