package intent

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPatternLength bounds a destination so matching cost and stored records stay small.
const MaxPatternLength = 1024

// Pattern is a parsed destination: a concrete resource or a wildcard pattern over
// resources of one scheme.
//
// Internally every form is a list of positional segments compared one by one, which is
// what keeps a '*' inside a segment from ever crossing a separator:
//
//	https://host/a/b          host, "a", "b"         (also http, svc, s3, azure, azure-keyvault)
//	arn:p:svc:region:acct:r/s  p, svc, region, acct, "r", "s"
//	/subscriptions/id/x/y      id, "x", "y"
//
// A last segment that is exactly '*' is a subtree: one or more further segments at any
// depth, never the prefix itself, so "s3://b/logs/*" does not grant the object "s3://b/logs".
// The zero Pattern matches and covers nothing.
type Pattern struct {
	scheme  string
	segs    []string // fixed segments; the subtree '*' is not stored here
	subtree bool
	wild    bool // some segment or the subtree holds a '*'
	text    string
}

const (
	schemeHTTPS         = "https"
	schemeHTTP          = "http"
	schemeSvc           = "svc"
	schemeS3            = "s3"
	schemeARN           = "arn"
	schemeAzure         = "azure"
	schemeAzureKeyVault = "azure-keyvault"
	schemeAzureResource = "azure-resource"
)

const azureResourcePrefix = "/subscriptions/"

// ParsePattern validates and canonicalises a destination. Scheme and host are lowercased;
// paths keep their case except in Azure resource ids and Key Vault identifiers, which
// Azure itself compares case-insensitively.
func ParsePattern(s string) (Pattern, error) {
	p, err := parsePattern(s)
	if err != nil {
		return Pattern{}, fmt.Errorf("invalid destination %s: %w", quote(s), err)
	}
	return p, nil
}

func parsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("is empty")
	}
	if len(s) > MaxPatternLength {
		return Pattern{}, fmt.Errorf("is longer than %d characters", MaxPatternLength)
	}
	if !utf8.ValidString(s) {
		return Pattern{}, errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		// Format characters (zero-width space, bidi overrides) would let two
		// destinations that look identical in a review differ.
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return Pattern{}, errors.New("contains whitespace, control or invisible characters")
		}
	}
	if strings.ContainsAny(s, "?#") {
		return Pattern{}, errors.New("must not contain a query (?) or fragment (#)")
	}
	if strings.Contains(s, "**") {
		// '**' means "any depth" in many glob dialects; refusing it avoids a silent
		// difference in meaning. A trailing "/*" already is a subtree here.
		return Pattern{}, errors.New("must not contain **; a last segment of * already matches any depth")
	}
	if strings.ContainsRune(s, '\\') {
		return Pattern{}, errors.New("must not contain a backslash")
	}
	switch {
	case hasPrefixFold(s, "arn:"):
		return parseARN(s)
	case hasPrefixFold(s, azureResourcePrefix):
		return parseAzureResource(s)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Pattern{}, errors.New("must be a URI (scheme://...), an ARN (arn:...) or an Azure resource id (/subscriptions/...)")
	}
	scheme = strings.ToLower(scheme)
	host, path, _ := strings.Cut(rest, "/")
	var err error
	switch scheme {
	case schemeHTTPS, schemeHTTP, schemeSvc:
		host, err = parseURLHost(host, scheme)
	case schemeS3, schemeAzure, schemeAzureKeyVault:
		host, err = parseNameHost(host)
	default:
		return Pattern{}, fmt.Errorf("unknown scheme %s; expected https, http, svc, s3, azure, azure-keyvault, arn or /subscriptions/", quote(scheme))
	}
	if err != nil {
		return Pattern{}, err
	}
	if scheme == schemeAzureKeyVault {
		path = strings.ToLower(path)
	}
	p := Pattern{scheme: scheme, segs: []string{host}, wild: strings.Contains(host, "*")}
	if path != "" {
		if err := p.appendPath(strings.Split(path, "/")); err != nil {
			return Pattern{}, err
		}
	}
	if scheme == schemeAzureKeyVault && len(p.segs) > 1 {
		switch kind := p.segs[1]; {
		case kind == "secrets", kind == "keys", kind == "certificates", strings.Contains(kind, "*"):
		default:
			return Pattern{}, fmt.Errorf("key vault object type %s must be secrets, keys or certificates", quote(kind))
		}
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	p.writePath(&b, 1, "/")
	p.text = b.String()
	return p, nil
}

// appendPath validates path segments and records a trailing '*' as a subtree.
func (p *Pattern) appendPath(segs []string) error {
	for i, seg := range segs {
		if err := checkPathSegment(seg); err != nil {
			return err
		}
		if seg == "*" && i == len(segs)-1 {
			p.subtree, p.wild = true, true
			break
		}
		if strings.Contains(seg, "*") {
			p.wild = true
		}
		p.segs = append(p.segs, seg)
	}
	return nil
}

// writePath renders segs[from:] and the subtree, each preceded by sep.
func (p *Pattern) writePath(b *strings.Builder, from int, sep string) {
	for _, seg := range p.segs[from:] {
		b.WriteString(sep)
		b.WriteString(seg)
	}
	if p.subtree {
		b.WriteString(sep)
		b.WriteString("*")
	}
}

func checkPathSegment(seg string) error {
	switch seg {
	case "":
		return errors.New("has an empty path segment (// or a trailing /)")
	case ".", "..":
		return fmt.Errorf("has a %s path segment", quote(seg))
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] != '%' {
			continue
		}
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return errors.New("has a malformed percent escape")
		}
		// A server that decodes %2e%2e or %2f would resolve a path outside the one
		// that was matched, so such spellings are refused outright.
		switch b := unhex(seg[i+1])<<4 | unhex(seg[i+2]); {
		case b == '/', b == '.', b == '\\', b < 0x20, b == 0x7f:
			return fmt.Errorf("has a percent-encoded %s, which could hide path traversal", quote(string(rune(b))))
		}
		i += 2
	}
	return nil
}

// String returns the canonical form; ParsePattern(p.String()) yields an equal pattern.
func (p Pattern) String() string { return p.text }

// Scheme is one of https, http, svc, s3, arn, azure, azure-keyvault, azure-resource.
func (p Pattern) Scheme() string { return p.scheme }

// IsZero reports whether p is the zero Pattern.
func (p Pattern) IsZero() bool { return p.text == "" }

// HasWildcard reports whether p can match more than one resource.
func (p Pattern) HasWildcard() bool { return p.wild }

// MarshalText lets records holding patterns round-trip through JSON storage; without it
// the unexported fields would serialise as {} and come back matching nothing.
func (p Pattern) MarshalText() ([]byte, error) { return []byte(p.text), nil }

// UnmarshalText parses a canonical or raw pattern; empty text gives the zero Pattern.
func (p *Pattern) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = Pattern{}
		return nil
	}
	q, err := ParsePattern(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
