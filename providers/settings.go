package providers

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Role settings reach providers as Go values from field parsing or, after a storage
// round trip, as JSON-decoded values; these readers accept both and name the field in
// their errors.

// StringSetting reads a trimmed string; "" when absent.
func StringSetting(m map[string]any, name string) (string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", &FieldError{Field: name, Reason: fmt.Sprintf("must be a string, got %T", v)}
	}
	return strings.TrimSpace(s), nil
}

// StringListSetting reads a list of non-empty trimmed strings from a list or a
// comma-separated string; nil when absent.
func StringListSetting(m map[string]any, name string) ([]string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return nil, nil
	}
	var out []string
	switch t := v.(type) {
	case []string:
		out = append(out, t...)
	case []any:
		for _, x := range t {
			s, isStr := x.(string)
			if !isStr {
				return nil, &FieldError{Field: name, Reason: fmt.Sprintf("entries must be strings, got %T", x)}
			}
			out = append(out, s)
		}
	case string:
		if strings.TrimSpace(t) != "" {
			out = strings.Split(t, ",")
		}
	default:
		return nil, &FieldError{Field: name, Reason: fmt.Sprintf("must be a list of strings, got %T", v)}
	}
	clean := out[:0]
	for _, s := range out {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	return clean, nil
}

// StringMapSetting reads a map of strings from a map, a JSON object string or a list of
// key=value entries; nil when absent or empty.
func StringMapSetting(m map[string]any, name string) (map[string]string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return &FieldError{Field: name, Reason: fmt.Sprintf(format, args...)}
	}
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]string:
		for k, s := range t {
			out[k] = s
		}
	case map[string]any:
		for k, x := range t {
			s, isStr := x.(string)
			if !isStr {
				return nil, bad("%q must have a string value, got %T", k, x)
			}
			out[k] = s
		}
	case string:
		if strings.TrimSpace(t) == "" {
			return nil, nil
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(t), &obj); err != nil || obj == nil {
			return nil, bad("must be a JSON object of string values or key=value pairs")
		}
		return StringMapSetting(map[string]any{name: obj}, name)
	case []string, []any:
		list, err := StringListSetting(m, name)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			k, val, found := strings.Cut(e, "=")
			if !found {
				return nil, bad("entry %q must be key=value", e)
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	default:
		return nil, bad("must be a map of names to values, got %T", v)
	}
	for k := range out {
		if strings.TrimSpace(k) == "" {
			return nil, bad("names must not be empty")
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
