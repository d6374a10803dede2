package intent

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// These properties run on patterns drawn from a tiny alphabet, where random fuzz input
// would rarely produce two wildcard patterns that cover each other.

var genSegments = []string{"a", "b", "ab", "ba", "*", "a*", "*b", "a*b", "*a*"}

func genPattern(rng *rand.Rand, scheme string) string {
	var b strings.Builder
	b.WriteString(scheme + "://")
	hosts := []string{"h", "a.h", "*.h", "a*.h"}
	b.WriteString(hosts[rng.IntN(len(hosts))])
	for range rng.IntN(4) {
		b.WriteString("/" + genSegments[rng.IntN(len(genSegments))])
	}
	if rng.IntN(3) == 0 {
		b.WriteString("/*")
	}
	return b.String()
}

// genExpansion replaces every '*' of q with a random run that crosses no separator,
// and a subtree with one to three random segments.
func genExpansion(rng *rand.Rand, q Pattern) string {
	fills := []string{"", "a", "b", "ab", "ba", "x", "aab"}
	s := q.String()
	if q.subtree {
		s = s[:len(s)-1]
		for i := range 1 + rng.IntN(3) {
			if i > 0 {
				s += "/"
			}
			s += "x" + fills[rng.IntN(len(fills))]
		}
	}
	var b strings.Builder
	for _, c := range s {
		if c == '*' {
			b.WriteString(fills[rng.IntN(len(fills))])
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// oracle compiles p into a regular expression straight from the documented semantics,
// independently of segmentCovers.
func oracle(p Pattern) *regexp.Regexp {
	var re strings.Builder
	re.WriteString("^")
	for i, seg := range p.segs {
		star := "[^/]*"
		if i == 0 {
			star = "[^/.:]*"
		} else {
			re.WriteString("/")
		}
		parts := strings.Split(seg, "*")
		for j, part := range parts {
			if j > 0 {
				re.WriteString(star)
			}
			re.WriteString(regexp.QuoteMeta(part))
		}
	}
	if p.subtree {
		re.WriteString("(/[^/]+)+")
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String())
}

func TestMatchesAgreesWithOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 3000 {
		p, err := parsePattern(genPattern(rng, "s3"))
		if err != nil {
			continue
		}
		re := oracle(p)
		for range 10 {
			q, err := parsePattern(genPattern(rng, "s3"))
			if err != nil {
				continue
			}
			r := genExpansion(rng, q)
			rp, err := parsePattern(r)
			if err != nil || rp.wild {
				continue
			}
			checked++
			body := strings.TrimPrefix(rp.String(), "s3://")
			if got, want := p.Matches(r), re.MatchString(body); got != want {
				t.Fatalf("%q.Matches(%q) = %v, oracle %v (%s)", p, r, got, want, re)
			}
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d resources checked", checked)
	}
}

func TestCoversIsSoundOnGeneratedPatterns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	covered := 0
	for range 20000 {
		p, err1 := parsePattern(genPattern(rng, "https"))
		q, err2 := parsePattern(genPattern(rng, "https"))
		if err1 != nil || err2 != nil || !p.Covers(q) {
			continue
		}
		covered++
		for range 20 {
			r := genExpansion(rng, q)
			rp, err := parsePattern(r)
			if err != nil || rp.wild {
				continue
			}
			if !q.Matches(r) {
				t.Fatalf("%q does not match its own expansion %q", q, r)
			}
			if !p.Matches(r) {
				t.Fatalf("%q covers %q but not its expansion %q", p, q, r)
			}
		}
	}
	if covered < 500 {
		t.Fatalf("only %d covering pairs generated", covered)
	}
}
