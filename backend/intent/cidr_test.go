package intent

import (
	"net/netip"
	"testing"
)

func TestParseCIDR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"10.1.2.3", "10.1.2.3/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"bogus", ""},
		{"10.0.0.0/33", ""},
		{"fe80::1%eth0", ""},
		{"::ffff:0:0/80", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ParseCIDR(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseCIDR(%q) = %s, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseCIDR(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestInAnyPrefix(t *testing.T) {
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true},
		{"11.0.0.1", false},
		{"2001:db8::5", true},
		{"2001:db9::5", false},
		{"", false},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		if got := inAnyPrefix(a, prefixes); got != tt.want {
			t.Errorf("inAnyPrefix(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
