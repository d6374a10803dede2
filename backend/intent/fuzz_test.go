package intent

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// patternSeeds are shared by the pattern fuzzers so every scheme and edge case is in
// each seed corpus (which also runs under plain `go test`).
var patternSeeds = []string{
	"https://reports.internal/*", "https://reports.internal/exports/*", "https://reports.internal/exports/q1.csv",
	"https://*.example.com/api/*", "https://h:*/x", "https://[::1]:8443/a", "http://h:80/x*y",
	"svc://billing/v1/*", "s3://a/b/*", "s3://a/b*", "s3://a/*/c", "s3://a/b", "s3://a/x*y*z",
	"arn:aws:s3:::bucket/prefix/*", "arn:aws:ec2:*:123:instance/*", "arn:aws:sns:us-east-1:123:*",
	"arn:aws:lambda:us-east-1:1:function:f*", "azure://acct/c/*", "azure-keyvault://v/secrets/db-*",
	"/subscriptions/s/resourceGroups/rg/*", "https://h/%41b", "https://h/a%2e", "", "https://*/x", "s3://a/**",
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range patternSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			if !p.IsZero() {
				t.Fatalf("error %v with non-zero pattern", err)
			}
			return
		}
		again, err := ParsePattern(p.String())
		if err != nil || again.String() != p.String() || again.subtree != p.subtree || len(again.segs) != len(p.segs) {
			t.Fatalf("canonical %q of %q does not reparse to itself: %q, %v", p.String(), s, again.String(), err)
		}
		if !p.Covers(p) || !p.Covers(again) || !again.Covers(p) {
			t.Fatalf("%q does not cover itself", p.String())
		}
		if !p.HasWildcard() && !p.Matches(p.String()) {
			t.Fatalf("concrete %q does not match itself", p.String())
		}
		if p.HasWildcard() && p.Matches(s) {
			t.Fatalf("Matches accepted the wildcard resource %q", s)
		}
	})
}

func FuzzCovers(f *testing.F) {
	for i, p := range patternSeeds {
		for j, q := range patternSeeds {
			if (i*7+j)%5 == 0 {
				f.Add(p, q, patternSeeds[(i+j)%len(patternSeeds)], "x")
			}
		}
	}
	f.Add("s3://a/*", "s3://a/b/*", "s3://a/b/c", "Q")
	f.Add("s3://a/b*", "s3://a/b*", "s3://a/bc", "")
	f.Add("https://*.e.com/*", "https://a*.e.com/x/*", "https://ab.e.com/x/y", "k9")
	f.Fuzz(func(t *testing.T, ps, qs, rs, fill string) {
		p, errP := parsePattern(ps)
		q, errQ := parsePattern(qs)
		r, errR := parsePattern(rs)
		if errP != nil || errQ != nil {
			return
		}
		if errR == nil && p.Covers(q) && q.Covers(r) && !p.Covers(r) {
			t.Fatalf("not transitive: %q ⊇ %q ⊇ %q but not %q ⊇ %q", p, q, r, p, r)
		}
		for _, e := range expansions(q, fill) {
			if !q.Covers(e) {
				t.Fatalf("%q does not cover its own expansion %q", q, e)
			}
			if p.Covers(q) && !p.Matches(e.String()) {
				t.Fatalf("%q covers %q but does not match its expansion %q", p, q, e)
			}
		}
	})
}

// expansions turns q's wildcards into concrete resources: every '*' becomes fill
// (restricted to characters valid in any segment, so it crosses no separator), and a
// subtree becomes one and two further segments.
func expansions(q Pattern, fill string) []Pattern {
	fill = strings.Map(func(r rune) rune {
		if r < 0x80 && (isAlnum(byte(r)) || r == '-' || r == '_') {
			return r
		}
		return -1
	}, fill)
	if len(fill) > 16 {
		fill = fill[:16]
	}
	base := q.String()
	var texts []string
	if q.subtree {
		stem := base[:len(base)-1]
		texts = append(texts, stem+fill+"1", stem+fill+"/"+fill+"2/x")
	} else {
		texts = append(texts, base)
	}
	var out []Pattern
	for _, s := range texts {
		e, err := parsePattern(strings.ReplaceAll(s, "*", fill))
		if err == nil && !e.wild {
			out = append(out, e)
		}
	}
	return out
}

func FuzzParseTimeWindow(f *testing.F) {
	for _, s := range []string{
		"Mon-Fri 06:00-20:00 Europe/Berlin", "Fri-Mon 22:00-06:00", "Mon,Wed,Fri 09:30-10:00 America/New_York",
		"* 00:00-24:00", "daily 23:59-00:01 Asia/Kolkata", "Sun 12:00-12:00", "Mon 24:00-01:00", "Tue 1:00-2:00",
		"Mon-Tue,Thu 09:00-17:00 UTC", "Sat 10:00-12:00 Local", "Mon 10:00-11:00 ../zoneinfo",
	} {
		f.Add(s, int64(1796374800))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		w, err := ParseTimeWindow(s)
		if err != nil {
			return
		}
		again, err := ParseTimeWindow(w.String())
		if err != nil || again.String() != w.String() || again.days != w.days || again.start != w.start || again.end != w.end {
			t.Fatalf("canonical %q of %q does not reparse to itself: %v", w.String(), s, err)
		}
		if w.start == w.end || w.start < 0 || w.start >= 24*60 || w.end < 0 || w.end > 24*60 {
			t.Fatalf("%q parsed to an impossible window %d-%d", s, w.start, w.end)
		}
		at := time.Unix(unix%(1<<40), 0)
		if w.Contains(at) != again.Contains(at) {
			t.Fatalf("%q and its canonical form disagree at %v", s, at)
		}
	})
}

var requestFields = map[string]bool{"task": true, "destinations": true, "actions": true, "sensitivity": true, "justification": true, "ttl": true}

func FuzzParseRequest(f *testing.F) {
	f.Add("nightly-export", "s3://reports/*", "https://reports.internal/exports/a", "read", "internal", "quarterly", "5m")
	f.Add("", "", "", "", "", "", "")
	f.Add("t", "s3://a/b", "s3://a/b", "s3:GetObject", "RESTRICTED", "line\nbreak", "300")
	f.Add("t*", "ftp://x", "s3://a/../b", "*", "secret", "\xff", "-1")
	f.Add("a/b:c@d+e", "arn:aws:s3:::b/*", "/subscriptions/s/x", "frobnicate", "public", "", "1.5.5")
	f.Fuzz(func(t *testing.T, task, d1, d2, action, sens, just, ttl string) {
		raw := RawRequest{Task: task, Destinations: []string{d1, d2}, Sensitivity: sens, Justification: just, TTL: ttl}
		if action != "" {
			raw.Actions = []string{action, "read"}
		}
		req, err := ParseRequest(raw)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !requestFields[fe.Field] {
				t.Fatalf("error %v is not a *FieldError on a request field", err)
			}
			return
		}
		if ValidateTask(req.Task) != nil || len(req.Destinations) < 1 || len(req.Destinations) > 2 || !req.Sensitivity.Valid() || req.TTL < 0 {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		for _, a := range req.Actions {
			if a.HasWildcard() {
				t.Fatalf("accepted a wildcard action %q", a)
			}
		}
	})
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"read", "WRITE", "s3:GetObject", "s3:Get*", "*", "s3:*", ":x", "kms:", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAction(s)
		g, gerr := ParseGrantAction(s)
		if err == nil {
			if gerr != nil || g != a || !a.CoveredBy(a) || !a.CoveredBy(g) {
				t.Fatalf("%q: request action %q, grant action %q, %v", s, a, g, gerr)
			}
			if b, err := ParseAction(string(a)); err != nil || b != a {
				t.Fatalf("%q does not reparse to itself", a)
			}
		}
		if gerr == nil && !g.CoveredBy(g) {
			t.Fatalf("grant action %q does not cover itself", g)
		}
	})
}

// FuzzEvaluate checks that every approved (destination, action) pair is backed by a
// grant that covers the destination, grants the action and allows the sensitivity.
func FuzzEvaluate(f *testing.F) {
	f.Add("s3://reports/a", "https://reports.internal/exports/tmp/x", "", "internal", "")
	f.Add("s3://reports/public/x", "", "write", "public", "30m")
	f.Add("https://reports.internal/exports/*", "", "read", "confidential", "2h")
	f.Fuzz(func(t *testing.T, d1, d2, action, sens, ttl string) {
		p := evalPolicy(t, nil)
		raw := RawRequest{Task: "nightly-export", Destinations: []string{d1}, Sensitivity: sens, TTL: ttl}
		if d2 != "" {
			raw.Destinations = append(raw.Destinations, d2)
		}
		if action != "" {
			raw.Actions = []string{action}
		}
		req, err := ParseRequest(raw)
		if err != nil {
			return
		}
		d, err := Evaluate(p, req, goodCaller(), friday10, 0)
		if err != nil {
			var denial *Denial
			if !errors.As(err, &denial) {
				t.Fatalf("error %v is not a *Denial", err)
			}
			return
		}
		if d.TTL <= 0 || d.TTL > p.MaxTTL {
			t.Fatalf("ttl %v outside (0, %v]", d.TTL, p.MaxTTL)
		}
		for _, dest := range d.Destinations {
			for _, a := range d.Actions {
				if !backed(p, d, dest, a) {
					t.Fatalf("%q on %q approved without a backing grant: %+v", a, dest, d)
				}
			}
		}
	})
}

func backed(p *Policy, d Decision, dest Pattern, a Action) bool {
	for _, m := range d.Matches {
		g := p.Grants[m.Grant]
		if m.Destination.String() == dest.String() && containsAction(m.Actions, a) &&
			g.Destination.Covers(dest) && g.grants(a) && g.MaxSensitivity >= d.Sensitivity {
			return true
		}
	}
	return false
}

func FuzzCheckUse(f *testing.F) {
	f.Add("read", "s3://reports/exports/a", "10.1.2.3", int64(0))
	f.Add("s3:GetObject", "s3://reports/exports/*", "::ffff:10.0.0.1", int64(3600))
	f.Add("", "", "", int64(-1))
	f.Fuzz(func(t *testing.T, action, resource, source string, offset int64) {
		in := Intent{
			Destinations: []Pattern{mustPattern(t, "s3://reports/exports/*")},
			Actions:      []Action{"read"},
			CIDRs:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			ExpiresAt:    friday10.Add(time.Hour),
		}
		addr, _ := netip.ParseAddr(source)
		allowed, reasons := CheckUse(in, action, resource, addr, friday10.Add(time.Duration(offset%1e6)*time.Second))
		if allowed != (len(reasons) == 0) || reasons == nil {
			t.Fatalf("allowed=%v with reasons %#v", allowed, reasons)
		}
		if allowed && (!in.Destinations[0].Matches(resource) || Action(strings.ToLower(action)) != "read") {
			t.Fatalf("allowed %q on %q", action, resource)
		}
	})
}
