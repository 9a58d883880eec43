package server

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/optfile"
)

// ACL is a list of address prefixes for --allow and --deny. IPv4-mapped
// IPv6 addresses (::ffff:10.0.0.1) match IPv4 prefixes, so a dual-stack
// listener cannot be used to slip past an IPv4 rule.
//
// A nil *ACL is no list at all (the flag was not given). A non-nil ACL
// with no entries is a list that was given and is empty: as an allow list
// it admits no one. Parsing fails closed: any entry, line or file that
// cannot be read in full is an error, never a shorter list.
type ACL struct {
	prefixes []netip.Prefix
}

// Limits on list files. A list of addresses has short lines; a longer one
// is not such a list (a binary, a file picked by mistake), and is refused
// rather than half read.
const (
	maxListLine = 64 << 10
)

// ParseACL reads "CIDR,CIDR,…" where each item is a prefix, a bare address,
// or @FILE naming a file of them (one or more per line, # comments). It
// returns a non-nil ACL, empty when s lists nothing, or a usage error that
// names the bad entry (and its file and line).
func ParseACL(flag fail.Option, s string) (*ACL, error) {
	a := &ACL{}
	for _, item := range fields(s) {
		if strings.HasPrefix(item, "@") {
			if err := a.addFile(flag, item[1:]); err != nil {
				return nil, err
			}
			continue
		}
		if err := a.addItem(flag, item, ""); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// addFile adds the entries of a list file.
func (a *ACL) addFile(flag fail.Option, path string) error {
	if path == "" {
		return fail.Inputf("%s @: no file name after @", flag).WithHint("Note that @FILE names a file of addresses, one or more a line: %s @/etc/sockit/allow.txt", flag)
	}
	data, err := readListFile(path)
	if err != nil {
		return fail.Inputf("%s @%s: %s", flag, path, fileCause(err))
	}
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		where := path + " line " + strconv.Itoa(n)
		if len(line) > maxListLine {
			return fail.Inputf("%s @%s: line %d is longer than %d KiB: not a list of addresses", flag, path, n, maxListLine>>10).WithHint("Note that a list file has addresses or CIDR prefixes, one or more a line, # for comments.")
		}
		if !utf8.Valid(line) || bytes.IndexByte(line, 0) >= 0 {
			return fail.Inputf("%s @%s: line %d is not text: not a list of addresses", flag, path, n).WithHint("Note that a list file has addresses or CIDR prefixes, one or more a line, # for comments.")
		}
		text, _, _ := strings.Cut(string(line), "#")
		for _, item := range fields(text) {
			if strings.HasPrefix(item, "@") {
				return fail.Inputf("%s @%s: line %d: %s: files cannot include other files", flag, path, n, short(item))
			}
			if err := a.addItem(flag, item, where); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *ACL) addItem(flag fail.Option, item, where string) error {
	p, err := parsePrefix(item)
	if err != nil {
		e := fail.Inputf("bad %s entry %q", flag, short(item))
		if where != "" {
			e = fail.Inputf("bad %s entry %q (%s)", flag, short(item), where)
		}
		return e.WithHint("Note that %s takes addresses or CIDR prefixes: 10.0.0.0/8,::1,@FILE", flag)
	}
	a.prefixes = append(a.prefixes, p)
	return nil
}

// short keeps an entry quoted in an error to a readable length.
func short(s string) string {
	if len(s) > 64 {
		return s[:60] + "…"
	}
	return s
}

// readListFile reads a --allow/--deny file whole, or fails: a list read
// in part would silently drop the entries after the failure. It takes
// regular files only (never a FIFO or /dev/zero) of at most
// optfile.MaxList bytes.
func readListFile(path string) ([]byte, error) {
	return optfile.Read(context.Background(), path, optfile.MaxList)
}

// fileCause words a file error without Go's "open PATH:" prefix, the path
// being in the message already.
func fileCause(err error) string {
	var oe *optfile.Error
	if errors.As(err, &oe) {
		return oe.Msg
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Empty reports whether the list has no entries (a nil ACL is empty).
func (a *ACL) Empty() bool { return a == nil || len(a.prefixes) == 0 }

// Len is the number of entries.
func (a *ACL) Len() int {
	if a == nil {
		return 0
	}
	return len(a.prefixes)
}

// Contains reports whether addr matches an entry.
func (a *ACL) Contains(addr netip.Addr) bool {
	if a == nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// admit decides whether a peer may talk to the server: denied addresses
// never; when an allow list was given, only addresses on it (none, when
// it is empty). A refusal says why, and which list refused.
func admit(allow, deny *ACL, addr netip.Addr) (ok bool, why refusal) {
	if deny.Contains(addr) {
		return false, refusal{OptDeny, "denied by the deny list"}
	}
	if allow != nil && !allow.Contains(addr) {
		if allow.Empty() {
			return false, refusal{OptAllow, "not in the allow list (the list is empty)"}
		}
		return false, refusal{OptAllow, "not in the allow list"}
	}
	return true, refusal{}
}

// refusal is why a peer is turned away, in words that name no flag, and
// the option that turned it away (the refused event's Option).
type refusal struct {
	opt fail.Option
	why string
}

// maxConnsReached is the refusal of a peer beyond the connection limit.
func maxConnsReached(max int) refusal {
	return refusal{OptMaxConns, "connection limit (" + strconv.Itoa(max) + ") reached"}
}

// oneOnly is the refusal of a second client (peer) by a server that
// serves one.
func oneOnly(what string) refusal {
	return refusal{OptKeepOpen, "serving one " + what + " only"}
}
