package sockittest

import "strings"

// ShellCommands splits one line of a shell example (a README's) into its
// simple commands' words, as sh would: quotes removed, a trailing #
// comment dropped, cut at pipes, && and ;, redirections left out. It
// returns nil for a line it cannot take apart without a shell ($VAR,
// $(…), globs, a line continued on the next).
func ShellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, skipNext := false, false
	endWord := func() {
		if inWord {
			if !skipNext {
				words = append(words, w.String())
			}
			skipNext = false
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil
			}
			s := line[i+1 : i+1+j]
			if strings.ContainsAny(s, "$`\\") {
				return nil
			}
			w.WriteString(s)
			i += j + 1
			inWord = true
		case c == '\\':
			if i+1 == len(line) {
				return nil // continued on the next line
			}
			w.WriteByte(line[i+1])
			i++
			inWord = true
		case c == ' ' || c == '\t':
			endWord()
		case c == '#' && !inWord:
			i = len(line)
		case c == '|' || c == ';' || c == '&':
			endCmd()
			if i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '&') {
				i++
			}
		case c == '>' || c == '<':
			// A redirection: its target is not an argument.
			if inWord && isDigits(w.String()) {
				w.Reset() // 2>file: the 2 goes with it
				inWord = false
			} else {
				endWord()
			}
			for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&') {
				i++
			}
			if i+1 < len(line) && line[i+1] != ' ' {
				skipNext = true
			} else {
				skipNext = true
				for i+1 < len(line) && line[i+1] == ' ' {
					i++
				}
			}
		case c == '$' || c == '`' || c == '*' || c == '(' || c == ')':
			return nil
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
