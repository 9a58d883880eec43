package server

import (
	"bufio"
	"net/netip"
	"os"
	"strings"

	"github.com/sockit/sockit/internal/exitcode"
)

// ACL is a list of address prefixes for --allow and --deny. IPv4-mapped
// IPv6 addresses (::ffff:10.0.0.1) match IPv4 prefixes, so a dual-stack
// listener cannot be used to slip past an IPv4 rule.
type ACL struct {
	prefixes []netip.Prefix
}

// ParseACL reads "CIDR,CIDR,…" where each item is a prefix, a bare address,
// or @FILE naming a file of them (one per line, # comments).
func ParseACL(flag, s string) (*ACL, error) {
	a := &ACL{}
	if err := a.add(flag, s, 0); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *ACL) add(flag, s string, depth int) error {
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if strings.HasPrefix(item, "@") {
			if depth > 0 {
				return exitcode.Usagef("%s: %s: files cannot include other files", flag, item)
			}
			f, err := os.Open(item[1:])
			if err != nil {
				return exitcode.Usagef("%s: %v", flag, err)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line, _, _ := strings.Cut(sc.Text(), "#")
				if err := a.add(flag, line, depth+1); err != nil {
					f.Close()
					return err
				}
			}
			f.Close()
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return exitcode.WithHint("Note that "+flag+" takes addresses or CIDR prefixes: 10.0.0.0/8,::1,@FILE",
				"bad %s entry %q", flag, item)
		}
		a.prefixes = append(a.prefixes, p)
	}
	return nil
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
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Empty reports whether the list has no entries (a nil ACL is empty).
func (a *ACL) Empty() bool { return a == nil || len(a.prefixes) == 0 }

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
// never; when an allow list exists, only addresses on it.
func admit(allow, deny *ACL, addr netip.Addr) (ok bool, why string) {
	if deny.Contains(addr) {
		return false, "denied by --deny"
	}
	if !allow.Empty() && !allow.Contains(addr) {
		return false, "not in --allow"
	}
	return true, ""
}
