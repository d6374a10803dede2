package azuresim

import (
	"fmt"
	"regexp"
	"strings"
)

// Azure ABAC condition subset (conditionVersion 2.0):
//
//	expr      := or
//	or        := and { (OR | ||) and }
//	and       := unary { (AND | &&) unary }
//	unary     := (! | NOT) unary | primary
//	primary   := ( expr ) | ActionMatches{'a', ...} | SubOperationMatches{'s', ...}
//	           | @Source[attribute] operator value
//	operator  := StringEquals | StringEqualsIgnoreCase | StringNotEquals | StringNotEqualsIgnoreCase
//	           | StringStartsWith | StringStartsWithIgnoreCase | StringNotStartsWith
//	           | StringLike | StringNotLike            (value: 'x' or {'x','y'} = any of)
//
// Attributes the simulator supplies: @Resource[Microsoft.Storage/storageAccounts:name],
// @Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name],
// @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path],
// @Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] (List Blobs),
// @Resource[Microsoft.KeyVault/vaults/secrets:name] is not an Azure attribute and is not supplied.
// A comparison on an attribute the request does not carry is false, as in Azure (which is why
// a blob:path condition on blobs/read denies List Blobs unless the action is excluded).

type condNode struct {
	kind   string // or, and, not, action, subop, cmp
	kids   []*condNode
	values []string
	attr   string
	op     string
}

type condParser struct {
	toks []string
	pos  int
}

var condTokRe = regexp.MustCompile(`\s*(@[A-Za-z]+\[[^\]]*\]|'(?:[^']|'')*'|&&|\|\||[(){},!]|[A-Za-z0-9_:.\-]+)`)

func tokenizeCondition(s string) ([]string, error) {
	var out []string
	rest := s
	for strings.TrimSpace(rest) != "" {
		m := condTokRe.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("unexpected input at %q", truncate(strings.TrimSpace(rest), 30))
		}
		out = append(out, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseCondition parses an ABAC condition; it is validated at role assignment PUT.
func parseCondition(s string) (*condNode, error) {
	toks, err := tokenizeCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected token %q", p.toks[p.pos])
	}
	return n, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) next() string { t := p.peek(); p.pos++; return t }

func (p *condParser) or() (*condNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); strings.EqualFold(t, "OR") || t == "||"; t = p.peek() {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &condNode{kind: "or", kids: []*condNode{l, r}}
	}
	return l, nil
}

func (p *condParser) and() (*condNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); strings.EqualFold(t, "AND") || t == "&&"; t = p.peek() {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &condNode{kind: "and", kids: []*condNode{l, r}}
	}
	return l, nil
}

func (p *condParser) unary() (*condNode, error) {
	if t := p.peek(); t == "!" || strings.EqualFold(t, "NOT") {
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &condNode{kind: "not", kids: []*condNode{n}}, nil
	}
	return p.primary()
}

func (p *condParser) values() ([]string, error) {
	one := func() (string, error) {
		t := p.next()
		if len(t) < 2 || t[0] != '\'' || t[len(t)-1] != '\'' {
			return "", fmt.Errorf("expected a quoted string, got %q", t)
		}
		return strings.ReplaceAll(t[1:len(t)-1], "''", "'"), nil
	}
	if p.peek() != "{" {
		v, err := one()
		return []string{v}, err
	}
	p.next()
	var out []string
	for {
		v, err := one()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch t := p.next(); t {
		case ",":
			continue
		case "}":
			return out, nil
		default:
			return nil, fmt.Errorf("expected ',' or '}', got %q", t)
		}
	}
}

var condOps = map[string]bool{
	"stringequals": true, "stringequalsignorecase": true, "stringnotequals": true, "stringnotequalsignorecase": true,
	"stringstartswith": true, "stringstartswithignorecase": true, "stringnotstartswith": true,
	"stringnotstartswithignorecase": true, "stringlike": true, "stringnotlike": true,
}

func (p *condParser) primary() (*condNode, error) {
	t := p.next()
	switch {
	case t == "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing ')'")
		}
		return n, nil
	case strings.EqualFold(t, "ActionMatches") || strings.EqualFold(t, "SubOperationMatches"):
		kind := "action"
		if strings.EqualFold(t, "SubOperationMatches") {
			kind = "subop"
		}
		if p.peek() != "{" {
			return nil, fmt.Errorf("%s needs {'...'}", t)
		}
		v, err := p.values()
		if err != nil {
			return nil, err
		}
		return &condNode{kind: kind, values: v}, nil
	case strings.HasPrefix(t, "@"):
		op := p.next()
		if !condOps[strings.ToLower(op)] {
			return nil, fmt.Errorf("unsupported operator %q", op)
		}
		v, err := p.values()
		if err != nil {
			return nil, err
		}
		return &condNode{kind: "cmp", attr: t, op: strings.ToLower(op), values: v}, nil
	case t == "":
		return nil, fmt.Errorf("unexpected end of condition")
	}
	return nil, fmt.Errorf("unexpected token %q", t)
}

func likeMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(s)
}

func (n *condNode) eval(action, subOp string, attrs map[string]string) bool {
	switch n.kind {
	case "or":
		return n.kids[0].eval(action, subOp, attrs) || n.kids[1].eval(action, subOp, attrs)
	case "and":
		return n.kids[0].eval(action, subOp, attrs) && n.kids[1].eval(action, subOp, attrs)
	case "not":
		return !n.kids[0].eval(action, subOp, attrs)
	case "action":
		for _, v := range n.values {
			if actionMatch(v, action) {
				return true
			}
		}
		return false
	case "subop":
		for _, v := range n.values {
			if strings.EqualFold(v, subOp) {
				return true
			}
		}
		return false
	}
	val, ok := attrs[strings.ToLower(n.attr)]
	if !ok {
		return false
	}
	neg := strings.Contains(n.op, "not")
	ic := strings.HasSuffix(n.op, "ignorecase")
	hit := false
	for _, v := range n.values {
		a, b := val, v
		if ic {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		switch {
		case strings.Contains(n.op, "equals"):
			hit = hit || a == b
		case strings.Contains(n.op, "startswith"):
			hit = hit || strings.HasPrefix(a, b)
		case strings.Contains(n.op, "like"):
			hit = hit || likeMatch(b, a)
		}
	}
	if neg {
		return !hit
	}
	return hit
}

// evalCondition parses and evaluates a condition for one request.
func evalCondition(cond, action, subOp string, attrs map[string]string) (bool, error) {
	n, err := parseCondition(cond)
	if err != nil {
		return false, err
	}
	return n.eval(action, subOp, attrs), nil
}

// Condition attribute names.
const (
	AttrAccountName   = "@resource[microsoft.storage/storageaccounts:name]"
	AttrContainerName = "@resource[microsoft.storage/storageaccounts/blobservices/containers:name]"
	AttrBlobPath      = "@resource[microsoft.storage/storageaccounts/blobservices/containers/blobs:path]"
	AttrListPrefix    = "@request[microsoft.storage/storageaccounts/blobservices/containers/blobs:prefix]"
)
