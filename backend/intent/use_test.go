package intent

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestCheckUse(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC) // Friday 10:00 Berlin
	base := func() Intent {
		return Intent{
			Destinations: []Pattern{mustPattern(t, "s3://reports/exports/*")},
			Actions:      []Action{"read", "s3:GetObject"},
			Schedule:     Schedule{Windows: []TimeWindow{mustWindow(t, "Mon-Fri 06:00-20:00 Europe/Berlin")}},
			CIDRs:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			ExpiresAt:    now.Add(time.Hour),
		}
	}
	src := netip.MustParseAddr("10.1.2.3")
	tests := []struct {
		name     string
		mutate   func(*Intent)
		action   string
		resource string
		source   netip.Addr
		now      time.Time
		want     []string
	}{
		{name: "allowed", action: "read", resource: "s3://reports/exports/q1.csv", want: []string{}},
		{name: "native case-insensitive", action: "s3:getobject", resource: "s3://reports/exports/q1.csv", want: []string{}},
		{name: "ipv4-mapped source", action: "read", resource: "s3://reports/exports/q1.csv", source: netip.MustParseAddr("::ffff:10.9.9.9"), want: []string{}},
		{name: "revoked", mutate: func(i *Intent) { i.Revoked = true }, action: "read", resource: "s3://reports/exports/a",
			want: []string{"credential is revoked"}},
		{name: "expired", action: "read", resource: "s3://reports/exports/a", now: now.Add(time.Hour),
			want: []string{"credential expired at 2026-12-04T10:00:00Z"}},
		{name: "action", action: "delete", resource: "s3://reports/exports/a",
			want: []string{`action "delete" is not in the intent`}},
		{name: "resource", action: "read", resource: "s3://reports/other/a",
			want: []string{`resource "s3://reports/other/a" is outside every destination of the intent`}},
		{name: "source", action: "read", resource: "s3://reports/exports/a", source: netip.MustParseAddr("192.0.2.1"),
			want: []string{"source address 192.0.2.1 is outside the bound CIDRs"}},
		{name: "everything wrong at once",
			mutate: func(i *Intent) { i.Revoked = true }, action: "frobnicate", resource: "s3://reports/exports/*",
			source: netip.MustParseAddr("192.0.2.1"), now: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC),
			want: []string{
				"credential is revoked",
				"credential expired at 2026-12-04T10:00:00Z",
				`malformed action: invalid action "frobnicate": is not a verb (read, write, list, delete) or a native service:Action`,
				`malformed resource "s3://reports/exports/*": a used resource must be concrete, without *`,
				"source address 192.0.2.1 is outside the bound CIDRs",
				"outside the role's time windows (Mon-Fri 06:00-20:00 Europe/Berlin) at 2026-12-05T10:00:00+01:00",
			}},
		{name: "malformed resource", action: "read", resource: "s3://reports/exports/../../x",
			want: []string{`malformed resource "s3://reports/exports/../../x": has a ".." path segment`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			source := tt.source
			if !source.IsValid() {
				source = src
			}
			when := tt.now
			if when.IsZero() {
				when = now
			}
			allowed, reasons := CheckUse(in, tt.action, tt.resource, source, when)
			if allowed != (len(tt.want) == 0) || !reflect.DeepEqual(reasons, tt.want) {
				t.Errorf("CheckUse = %v, %q\nwant reasons %q", allowed, reasons, tt.want)
			}
		})
	}
	if _, reasons := CheckUse(base(), "read", "s3://reports/exports/a", netip.Addr{}, now); len(reasons) != 1 ||
		reasons[0] != "source address is unknown and the credential is bound to CIDRs" {
		t.Errorf("unknown source: %q", reasons)
	}
	if ok, reasons := CheckUse(Intent{Destinations: base().Destinations, Actions: base().Actions}, "read", "s3://reports/exports/a", netip.Addr{}, now); !ok || reasons == nil {
		t.Errorf("an intent without CIDRs, schedule or expiry should allow with [] reasons: %v %#v", ok, reasons)
	}
}
