package intent

import (
	"errors"
	"fmt"
	"strings"
)

// Action is a generic verb (read, write, list, delete) or a provider-native action
// "service:Name" such as s3:GetObject. Verbs and native names are separate namespaces:
// "read" never covers s3:GetObject here; providers translate verbs when they compile a
// grant.
type Action string

// Verbs every provider understands.
const (
	ActionRead   Action = "read"
	ActionWrite  Action = "write"
	ActionList   Action = "list"
	ActionDelete Action = "delete"
)

const maxActionLength = 128

// ParseAction accepts a verb (case-insensitive, stored lowercase) or a concrete native
// action. Requests and observed uses name one operation, so wildcards are refused.
func ParseAction(s string) (Action, error) { return parseAction(s, false) }

// ParseGrantAction is ParseAction for role grants, where a native name may end in '*'
// (s3:Get*, s3:*). A bare "*" is refused: a grant must say which service it opens.
func ParseGrantAction(s string) (Action, error) { return parseAction(s, true) }

func parseAction(s string, allowWildcard bool) (Action, error) {
	a, err := parseActionText(s, allowWildcard)
	if err != nil {
		return "", fmt.Errorf("invalid action %s: %w", quote(s), err)
	}
	return a, nil
}

func parseActionText(s string, allowWildcard bool) (Action, error) {
	if s == "" {
		return "", errors.New("is empty")
	}
	if len(s) > maxActionLength {
		return "", fmt.Errorf("is longer than %d characters", maxActionLength)
	}
	if s == "*" {
		return "", errors.New("* alone is too wide; name a verb or service:Action")
	}
	service, name, native := strings.Cut(s, ":")
	if !native {
		switch v := Action(strings.ToLower(s)); v {
		case ActionRead, ActionWrite, ActionList, ActionDelete:
			return v, nil
		}
		return "", errors.New("is not a verb (read, write, list, delete) or a native service:Action")
	}
	if service == "" {
		return "", errors.New("has an empty service")
	}
	for i := 0; i < len(service); i++ {
		if c := service[i]; !isAlnum(c) && c != '-' {
			return "", fmt.Errorf("service %s contains %s", quote(service), quote(string(c)))
		}
	}
	if name == "" {
		return "", errors.New("has an empty action name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '*' {
			if !allowWildcard {
				return "", errors.New("must not contain a wildcard")
			}
			if i != len(name)-1 {
				return "", errors.New("may only end in *, not contain it elsewhere")
			}
			continue
		}
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return "", fmt.Errorf("action name %s contains %s", quote(name), quote(string(c)))
		}
	}
	return Action(strings.ToLower(service) + ":" + name), nil
}

// IsVerb reports whether a is one of the generic verbs.
func (a Action) IsVerb() bool {
	return a == ActionRead || a == ActionWrite || a == ActionList || a == ActionDelete
}

// HasWildcard reports whether a is a native grant action ending in '*'.
func (a Action) HasWildcard() bool { return strings.HasSuffix(string(a), "*") }

// CoveredBy reports whether grant allows a. Native names compare case-insensitively, as
// IAM does; a grant ending in '*' allows every name with that prefix. A wildcard a is
// covered only by a grant whose prefix is no longer than a's, so the check stays sound.
func (a Action) CoveredBy(grant Action) bool {
	if a.IsVerb() || grant.IsVerb() {
		return a == grant
	}
	as, an, ok1 := strings.Cut(string(a), ":")
	gs, gn, ok2 := strings.Cut(string(grant), ":")
	if !ok1 || !ok2 || !strings.EqualFold(as, gs) {
		return false
	}
	if prefix, wild := strings.CutSuffix(gn, "*"); wild {
		return len(an) >= len(prefix) && strings.EqualFold(an[:len(prefix)], prefix)
	}
	if strings.HasSuffix(an, "*") {
		return false
	}
	return strings.EqualFold(an, gn)
}

// sameAction reports whether a and b name the same operation (native names fold case).
func sameAction(a, b Action) bool {
	if a.IsVerb() || b.IsVerb() {
		return a == b
	}
	return strings.EqualFold(string(a), string(b))
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
