// Package suggest finds the name a user probably meant ("gkb" → "gbk",
// "len61" → "len16") for the "Did you mean …?" line of usage errors.
package suggest

// Distance is the optimal string alignment distance between a and b: the
// number of insertions, deletions, substitutions and swaps of neighbouring
// bytes that turn one into the other. Strings longer than 64 bytes are
// never near a name and get a large distance without the work.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Closest returns the candidate nearest to name when it is near enough to
// be a likely slip (one edit for names of up to 4 bytes, two for longer
// ones), else "". Ties go to the earlier candidate. The comparison is on
// the bytes as given: callers normalise case first if it should not count.
func Closest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := Distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	if bestD > limit {
		return ""
	}
	return best
}
