package intent

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseCIDR accepts a prefix ("10.0.0.0/8") or a single address ("10.1.2.3"), as Vault's
// own bound_cidrs do. IPv4-mapped IPv6 prefixes are stored as IPv4 so that one spelling
// of an address cannot slip past a rule written in the other.
func ParseCIDR(s string) (netip.Prefix, error) {
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			if a.Zone() != "" {
				err = errZone
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %s; expected e.g. 10.0.0.0/8 or 2001:db8::/32", quote(s))
	}
	if a := p.Addr(); a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %s: an IPv4-mapped prefix needs at least /96", quote(s))
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	return p.Masked(), nil
}

// inAnyPrefix reports whether addr is inside one of prefixes; an unknown address never is.
func inAnyPrefix(addr netip.Addr, prefixes []netip.Prefix) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// errZone rejects "fe80::1%eth0": an interface zone means nothing on another host.
var errZone = errors.New("address has a zone")
