package intent

import "strings"

// Covers reports whether every concrete resource q can match is also matched by p.
//
// It is sound rather than complete: a '*' in q may only be absorbed by a '*' of p in the
// same segment, and a subtree in q only by a subtree of p at the same or a shallower
// depth. When in doubt it answers false, which denies rather than widens.
func (p Pattern) Covers(q Pattern) bool {
	if p.text == "" || q.text == "" || p.scheme != q.scheme {
		return false
	}
	if p.subtree {
		// The subtree is one or more segments beyond p's fixed ones; q must reach
		// strictly deeper (its own subtree always adds at least one segment).
		if len(q.segs) < len(p.segs) || (len(q.segs) == len(p.segs) && !q.subtree) {
			return false
		}
	} else if q.subtree || len(q.segs) != len(p.segs) {
		return false
	}
	for i, seg := range p.segs {
		if !segmentCovers(seg, q.segs[i], p.labelSegment(i)) {
			return false
		}
	}
	return true
}

// Matches reports whether the concrete resource (no wildcards) is matched by p. A
// malformed resource never matches, so callers fail closed.
func (p Pattern) Matches(resource string) bool {
	if p.text == "" {
		return false
	}
	r, err := parsePattern(resource)
	if err != nil || r.wild {
		return false
	}
	return p.Covers(r)
}

// labelSegment reports whether segment i is a host, where '*' stays within one DNS label
// so "*.example.com" cannot match "a.b.example.com" or "evil.example.com:8443".
func (p Pattern) labelSegment(i int) bool { return i == 0 && p.scheme != schemeARN }

// segmentCovers reports whether glob p matches everything glob q matches within one
// segment. Plain strings are globs without '*', so this is also the concrete match.
func segmentCovers(p, q string, label bool) bool {
	if strings.IndexByte(p, '*') < 0 {
		return p == q
	}
	if p == "*" {
		return !label || !strings.ContainsAny(q, ".:")
	}
	return globCovers(p, q, label)
}

// globCovers is a dynamic programme over (prefix of p, prefix of q): a literal of p must
// meet the same literal of q; a '*' of p may absorb q's literals (except label
// separators in a host) and q's own '*'s. Segments are at most MaxPatternLength bytes, so
// the quadratic worst case is bounded; the common case is a few dozen bytes.
func globCovers(p, q string, label bool) bool {
	var buf [128]bool
	var dp []bool
	if len(q)+1 <= len(buf) {
		dp = buf[:len(q)+1]
	} else {
		dp = make([]bool, len(q)+1)
	}
	dp[0] = true // dp[j]: the part of p seen so far covers q[:j]
	for i := 0; i < len(p); i++ {
		c := p[i]
		alive := false
		if c == '*' {
			for j := 1; j <= len(q); j++ {
				if !dp[j] && dp[j-1] && starAbsorbs(q[j-1], label) {
					dp[j] = true
				}
				alive = alive || dp[j]
			}
			alive = alive || dp[0]
		} else {
			for j := len(q); j >= 1; j-- {
				dp[j] = dp[j-1] && q[j-1] == c
				alive = alive || dp[j]
			}
			dp[0] = false
		}
		if !alive {
			return false
		}
	}
	return dp[len(q)]
}

func starAbsorbs(c byte, label bool) bool {
	return !label || (c != '.' && c != ':')
}
