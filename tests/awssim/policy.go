package awssim

// IAM policy language: parsing and evaluation for the subset of AWS the simulator serves.
//
// Semantics follow the IAM policy evaluation logic documentation:
//   - an explicit Deny in any applicable policy wins;
//   - otherwise the request is allowed only if every policy *type* that applies (identity,
//     session, permissions boundary) contains an Allow for it; within one type the
//     statements and policies are a union (e.g. inline session policy ∪ PolicyArns);
//   - Action/NotAction match case-insensitively with `*` and `?`;
//   - Resource/NotResource match each ARN component separately, the resource component
//     with `*`/`?` crossing `/` and `:` as IAM does;
//   - conditions: all operators of a statement AND, all keys of an operator AND, the values
//     of one key OR (for negated operators: none of the values may match);
//     `...IfExists` is true when the key is absent; negated operators are true when the key
//     is absent; `ForAnyValue:` / `ForAllValues:` set operators; `Null`.
//   - policy variables `${aws:username}`, `${aws:PrincipalTag/k}` … in Resource and in
//     condition values, with `${*}`, `${?}`, `${$}` escapes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy is a parsed IAM policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Nil slices mean "element absent".
type Statement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Principal    map[string][]string
	NotPrincipal map[string][]string
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition maps an operator (e.g. "StringEquals", "ForAnyValue:StringLike") to
	// condition keys and their values (as strings).
	Condition map[string]map[string][]string
}

// ParsePolicy parses and validates a policy document the way IAM does for the elements
// the simulator supports. The error text is suitable for MalformedPolicyDocument.
func ParsePolicy(doc string) (*Policy, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("Syntax errors in policy.")
	}
	p := &Policy{}
	for k, v := range raw {
		switch k {
		case "Version":
			if err := json.Unmarshal(v, &p.Version); err != nil {
				return nil, fmt.Errorf("Syntax errors in policy.")
			}
			if p.Version != "2012-10-17" && p.Version != "2008-10-17" {
				return nil, fmt.Errorf("The policy failed legacy parsing")
			}
		case "Id":
			_ = json.Unmarshal(v, &p.ID)
		case "Statement":
			var list []json.RawMessage
			t := bytes.TrimSpace(v)
			if len(t) > 0 && t[0] == '{' {
				list = []json.RawMessage{v}
			} else if err := json.Unmarshal(v, &list); err != nil {
				return nil, fmt.Errorf("Syntax errors in policy.")
			}
			for _, sraw := range list {
				st, err := parseStatement(sraw)
				if err != nil {
					return nil, err
				}
				p.Statements = append(p.Statements, st)
			}
		default:
			return nil, fmt.Errorf("Syntax errors in policy.")
		}
	}
	if raw["Statement"] == nil {
		return nil, fmt.Errorf("Syntax errors in policy.")
	}
	return p, nil
}

func parseStatement(b json.RawMessage) (Statement, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Statement{}, fmt.Errorf("Syntax errors in policy.")
	}
	var st Statement
	var err error
	for k, v := range raw {
		switch k {
		case "Sid":
			err = json.Unmarshal(v, &st.Sid)
		case "Effect":
			err = json.Unmarshal(v, &st.Effect)
		case "Action":
			st.Action, err = stringOrList(v)
		case "NotAction":
			st.NotAction, err = stringOrList(v)
		case "Resource":
			st.Resource, err = stringOrList(v)
		case "NotResource":
			st.NotResource, err = stringOrList(v)
		case "Principal":
			st.Principal, err = parsePrincipal(v)
		case "NotPrincipal":
			st.NotPrincipal, err = parsePrincipal(v)
		case "Condition":
			st.Condition, err = parseCondition(v)
		default:
			return st, fmt.Errorf("Syntax errors in policy.")
		}
		if err != nil {
			return st, fmt.Errorf("Syntax errors in policy.")
		}
	}
	if st.Effect != "Allow" && st.Effect != "Deny" {
		return st, fmt.Errorf("Syntax errors in policy.")
	}
	if (st.Action == nil) == (st.NotAction == nil) {
		return st, fmt.Errorf("Policy statement must contain actions.")
	}
	if st.Resource != nil && st.NotResource != nil {
		return st, fmt.Errorf("Syntax errors in policy.")
	}
	for _, a := range append(append([]string{}, st.Action...), st.NotAction...) {
		if a != "*" && !strings.Contains(a, ":") {
			return st, fmt.Errorf("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	return st, nil
}

func stringOrList(v json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, err
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

func parsePrincipal(v json.RawMessage) (map[string][]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if s != "*" {
			return nil, errors.New("bad principal")
		}
		return map[string][]string{"AWS": {"*"}}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for k, raw := range m {
		l, err := stringOrList(raw)
		if err != nil {
			return nil, err
		}
		out[k] = l
	}
	return out, nil
}

func parseCondition(v json.RawMessage) (map[string]map[string][]string, error) {
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	out := map[string]map[string][]string{}
	for op, keys := range m {
		if _, _, _, err := splitOperator(op); err != nil {
			return nil, err
		}
		out[op] = map[string][]string{}
		for key, raw := range keys {
			vals, err := conditionValues(raw)
			if err != nil {
				return nil, err
			}
			out[op][key] = vals
		}
	}
	return out, nil
}

func conditionValues(raw json.RawMessage) ([]string, error) {
	var one any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&one); err != nil {
		return nil, err
	}
	conv := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case json.Number:
			return t.String(), nil
		}
		return "", errors.New("bad condition value")
	}
	if l, ok := one.([]any); ok {
		out := make([]string, 0, len(l))
		for _, x := range l {
			s, err := conv(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := conv(one)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// RequestContext is what a policy is evaluated against.
type RequestContext struct {
	Action   string // e.g. "s3:GetObject"
	Resource string // ARN, or "*" for actions without resource
	// Keys holds condition keys; names are matched case-insensitively (store any case).
	Keys map[string][]string
	// Principal is set when evaluating resource-based policies (trust policies): the
	// principal type ("AWS", "Federated", "Service") and the values that identify the
	// caller (its ARN, its account id, the role ARN for sessions, ...).
	PrincipalType   string
	PrincipalValues []string
}

func (rc *RequestContext) key(name string) ([]string, bool) {
	if rc.Keys == nil {
		return nil, false
	}
	if v, ok := rc.Keys[name]; ok {
		return v, true
	}
	for k, v := range rc.Keys {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// Decision is the outcome of evaluating one policy or one set of policies.
type Decision int

const (
	// NotApplicable means no statement matched (implicit deny).
	NotApplicable Decision = iota
	// Allowed means at least one Allow statement matched and no Deny matched.
	Allowed
	// Denied means a Deny statement matched.
	Denied
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case Denied:
		return "Deny"
	}
	return "NotApplicable"
}

// Evaluate evaluates one policy against a request.
func (p *Policy) Evaluate(rc *RequestContext) Decision {
	if p == nil {
		return NotApplicable
	}
	out := NotApplicable
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.matches(rc) {
			continue
		}
		if st.Effect == "Deny" {
			return Denied
		}
		out = Allowed
	}
	return out
}

// EvaluateAll evaluates a union of policies of one type.
func EvaluateAll(ps []*Policy, rc *RequestContext) Decision {
	out := NotApplicable
	for _, p := range ps {
		switch p.Evaluate(rc) {
		case Denied:
			return Denied
		case Allowed:
			out = Allowed
		}
	}
	return out
}

func (st *Statement) matches(rc *RequestContext) bool {
	if st.Principal != nil || st.NotPrincipal != nil {
		if st.Principal != nil && !principalMatches(st.Principal, rc) {
			return false
		}
		if st.NotPrincipal != nil && principalMatches(st.NotPrincipal, rc) {
			return false
		}
	}
	if st.Action != nil {
		if !anyActionMatches(st.Action, rc.Action) {
			return false
		}
	} else if anyActionMatches(st.NotAction, rc.Action) {
		return false
	}
	if st.Resource != nil {
		if !anyResourceMatches(st.Resource, rc.Resource, rc) {
			return false
		}
	} else if st.NotResource != nil {
		if anyResourceMatches(st.NotResource, rc.Resource, rc) {
			return false
		}
	}
	for op, keys := range st.Condition {
		for key, vals := range keys {
			if !evalCondition(op, key, vals, rc) {
				return false
			}
		}
	}
	return true
}

func principalMatches(pr map[string][]string, rc *RequestContext) bool {
	for typ, vals := range pr {
		for _, v := range vals {
			if v == "*" && (typ == "AWS" || typ == rc.PrincipalType) {
				return true
			}
			if typ != rc.PrincipalType {
				continue
			}
			for _, have := range rc.PrincipalValues {
				if v == have {
					return true
				}
			}
		}
	}
	return false
}

func anyActionMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		if globMatch(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func anyResourceMatches(patterns []string, resource string, rc *RequestContext) bool {
	for _, p := range patterns {
		p, ok := substituteVariables(p, rc, true)
		if !ok {
			continue
		}
		if arnMatch(p, resource) {
			return true
		}
	}
	return false
}

// arnMatch matches an ARN pattern the way IAM matches Resource elements: "*" matches
// anything; otherwise the first five colon-separated components (arn, partition, service,
// region, account) are matched individually and the remainder (the resource) is matched as
// a whole, with `*` and `?` crossing `/` and `:`.
func arnMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return globMatch(pattern, arn)
	}
	for i := 0; i < 6; i++ {
		if !globMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// globMatch matches s against a pattern with `*` (any sequence, including empty) and `?`
// (exactly one character). Case-sensitive; callers lower-case for insensitive matching.
func globMatch(pattern, s string) bool {
	p := []rune(pattern)
	r := []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(r) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == r[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star = pi
			mark = si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// substituteVariables replaces ${key} policy variables. When a referenced key is absent
// the element does not match (ok=false). inGlob controls whether the special ${*} and ${?}
// escapes stay literal.
func substituteVariables(s string, rc *RequestContext, inGlob bool) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		switch name {
		case "*", "?", "$":
			if inGlob {
				// Literal characters: IAM escapes. We cannot express a literal * in our
				// glob, so we approximate with the character itself.
				b.WriteString(name)
			} else {
				b.WriteString(name)
			}
			continue
		}
		// default value syntax: ${key, 'default'}
		def, hasDef := "", false
		if c := strings.Index(name, ","); c >= 0 {
			d := strings.TrimSpace(name[c+1:])
			name = strings.TrimSpace(name[:c])
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				def, hasDef = d[1:len(d)-1], true
			}
		}
		v, ok := rc.key(name)
		if !ok || len(v) != 1 {
			if hasDef {
				b.WriteString(def)
				continue
			}
			return "", false
		}
		b.WriteString(v[0])
	}
	return b.String(), true
}

// splitOperator splits "ForAnyValue:StringLikeIfExists" into set prefix, base operator and
// the IfExists flag, and validates the operator.
func splitOperator(op string) (set, base string, ifExists bool, err error) {
	base = op
	if i := strings.Index(op, ":"); i >= 0 {
		set, base = op[:i], op[i+1:]
		if set != "ForAnyValue" && set != "ForAllValues" {
			return "", "", false, fmt.Errorf("unknown set operator %q", set)
		}
	}
	if strings.HasSuffix(base, "IfExists") && base != "Null" {
		ifExists = true
		base = strings.TrimSuffix(base, "IfExists")
	}
	if _, ok := operators[base]; !ok {
		return "", "", false, fmt.Errorf("unknown condition operator %q", op)
	}
	return set, base, ifExists, nil
}

type operator struct {
	negated bool
	// match reports whether one request value matches one policy value (positive form).
	match func(reqVal, polVal string) bool
}

var operators = map[string]operator{
	"StringEquals":              {false, func(a, b string) bool { return a == b }},
	"StringNotEquals":           {true, func(a, b string) bool { return a == b }},
	"StringEqualsIgnoreCase":    {false, strings.EqualFold},
	"StringNotEqualsIgnoreCase": {true, strings.EqualFold},
	"StringLike":                {false, func(a, b string) bool { return globMatch(b, a) }},
	"StringNotLike":             {true, func(a, b string) bool { return globMatch(b, a) }},
	"ArnEquals":                 {false, func(a, b string) bool { return arnMatch(b, a) }},
	"ArnLike":                   {false, func(a, b string) bool { return arnMatch(b, a) }},
	"ArnNotEquals":              {true, func(a, b string) bool { return arnMatch(b, a) }},
	"ArnNotLike":                {true, func(a, b string) bool { return arnMatch(b, a) }},
	"IpAddress":                 {false, ipMatch},
	"NotIpAddress":              {true, ipMatch},
	"NumericEquals":             {false, numCmp(func(c int) bool { return c == 0 })},
	"NumericNotEquals":          {true, numCmp(func(c int) bool { return c == 0 })},
	"NumericLessThan":           {false, numCmp(func(c int) bool { return c < 0 })},
	"NumericLessThanEquals":     {false, numCmp(func(c int) bool { return c <= 0 })},
	"NumericGreaterThan":        {false, numCmp(func(c int) bool { return c > 0 })},
	"NumericGreaterThanEquals":  {false, numCmp(func(c int) bool { return c >= 0 })},
	"DateEquals":                {false, dateCmp(func(c int) bool { return c == 0 })},
	"DateNotEquals":             {true, dateCmp(func(c int) bool { return c == 0 })},
	"DateLessThan":              {false, dateCmp(func(c int) bool { return c < 0 })},
	"DateLessThanEquals":        {false, dateCmp(func(c int) bool { return c <= 0 })},
	"DateGreaterThan":           {false, dateCmp(func(c int) bool { return c > 0 })},
	"DateGreaterThanEquals":     {false, dateCmp(func(c int) bool { return c >= 0 })},
	"Bool":                      {false, func(a, b string) bool { return strings.EqualFold(a, b) }},
	"BinaryEquals":              {false, func(a, b string) bool { return a == b }},
	"Null":                      {false, nil},
}

func ipMatch(reqVal, polVal string) bool {
	ip := net.ParseIP(reqVal)
	if ip == nil {
		return false
	}
	if !strings.Contains(polVal, "/") {
		p := net.ParseIP(polVal)
		return p != nil && p.Equal(ip)
	}
	_, n, err := net.ParseCIDR(polVal)
	return err == nil && n.Contains(ip)
}

func numCmp(ok func(int) bool) func(a, b string) bool {
	return func(a, b string) bool {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch {
		case x < y:
			return ok(-1)
		case x > y:
			return ok(1)
		}
		return ok(0)
	}
}

// parseDate accepts ISO 8601 forms IAM accepts and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, f := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func dateCmp(ok func(int) bool) func(a, b string) bool {
	return func(a, b string) bool {
		x, ok1 := parseDate(a)
		y, ok2 := parseDate(b)
		if !ok1 || !ok2 {
			return false
		}
		return ok(x.Compare(y))
	}
}

func evalCondition(op, key string, polVals []string, rc *RequestContext) bool {
	set, base, ifExists, err := splitOperator(op)
	if err != nil {
		return false
	}
	reqVals, present := rc.key(key)
	if present && len(reqVals) == 0 {
		present = false
	}
	if base == "Null" {
		for _, pv := range polVals {
			wantAbsent := strings.EqualFold(pv, "true")
			if wantAbsent != present {
				return true
			}
		}
		return false
	}
	o := operators[base]
	// resolve policy variables in condition values
	vals := make([]string, 0, len(polVals))
	for _, pv := range polVals {
		if v, ok := substituteVariables(pv, rc, base == "StringLike" || base == "StringNotLike"); ok {
			vals = append(vals, v)
		}
	}
	positive := func(rv string) bool {
		for _, pv := range vals {
			if o.match(rv, pv) {
				return true
			}
		}
		return false
	}
	one := func(rv string) bool {
		if o.negated {
			return !positive(rv)
		}
		return positive(rv)
	}
	switch set {
	case "ForAnyValue":
		if !present {
			return ifExists
		}
		for _, rv := range reqVals {
			if one(rv) {
				return true
			}
		}
		return false
	case "ForAllValues":
		if !present {
			return true
		}
		for _, rv := range reqVals {
			if !one(rv) {
				return false
			}
		}
		return true
	}
	if !present {
		return ifExists || o.negated
	}
	// single-valued operator against a (possibly multi-valued) key: any request value
	// matching counts for positive operators; negated operators require that no request
	// value matches.
	if o.negated {
		for _, rv := range reqVals {
			if positive(rv) {
				return false
			}
		}
		return true
	}
	for _, rv := range reqVals {
		if positive(rv) {
			return true
		}
	}
	return false
}

// AuthzInput groups the policies that apply to one request.
type AuthzInput struct {
	// Identity holds the principal's identity-based policies (inline and managed).
	Identity []*Policy
	// Session holds session policies (inline Policy and PolicyArns); HasSession tells
	// whether session policies were passed at all (an empty set then denies everything).
	Session    []*Policy
	HasSession bool
	// Boundary is the permissions boundary, if one is set.
	Boundary *Policy
	// DenyOnly are policies whose Deny statements apply but whose Allows grant nothing
	// here (e.g. bucket policies in the simulator).
	DenyOnly []*Policy
}

// AuthzResult explains a decision with the phrasing AWS uses in AccessDenied messages.
type AuthzResult struct {
	Allowed bool
	// Reason is e.g. "with an explicit deny in an identity-based policy" or
	// "because no session policy allows the s3:GetObject action".
	Reason string
}

// Authorize combines the policy types as IAM does for a principal in the same account.
func Authorize(in AuthzInput, rc *RequestContext) AuthzResult {
	id := EvaluateAll(in.Identity, rc)
	if id == Denied {
		return AuthzResult{false, "with an explicit deny in an identity-based policy"}
	}
	var sess Decision
	if in.HasSession {
		sess = EvaluateAll(in.Session, rc)
		if sess == Denied {
			return AuthzResult{false, "with an explicit deny in a session policy"}
		}
	}
	var bnd Decision
	if in.Boundary != nil {
		bnd = in.Boundary.Evaluate(rc)
		if bnd == Denied {
			return AuthzResult{false, "with an explicit deny in a permissions boundary"}
		}
	}
	if EvaluateAll(in.DenyOnly, rc) == Denied {
		return AuthzResult{false, "with an explicit deny in a resource-based policy"}
	}
	if id != Allowed {
		return AuthzResult{false, "because no identity-based policy allows the " + rc.Action + " action"}
	}
	if in.Boundary != nil && bnd != Allowed {
		return AuthzResult{false, "because no permissions boundary allows the " + rc.Action + " action"}
	}
	if in.HasSession && sess != Allowed {
		return AuthzResult{false, "because no session policy allows the " + rc.Action + " action"}
	}
	return AuthzResult{Allowed: true}
}

// policySize counts the characters IAM counts against inline-policy quotas: everything
// except whitespace.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// minifyJSON returns the compact form of a JSON document (or the input when invalid).
func minifyJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return doc
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
