package paths

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// maxGrants bounds a role's size; a role with more grants than this is a policy nobody can review.
const maxGrants = 256

// decodeGrants accepts grants as Vault clients send them: a JSON array or object in a
// string (CLI `grants=@file.json`), or already-decoded objects (API, Terraform).
func decodeGrants(raw []any) ([]intent.GrantSpec, error) {
	var grants []intent.GrantSpec
	for _, item := range raw {
		var encoded []byte
		switch v := item.(type) {
		case string:
			encoded = []byte(strings.TrimSpace(v))
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, &intent.FieldError{Field: "grants", Reason: "must be a JSON list of grant objects"}
			}
			encoded = b
		}
		decoded, err := decodeGrantJSON(encoded, len(grants))
		if err != nil {
			return nil, err
		}
		grants = append(grants, decoded...)
		if len(grants) > maxGrants {
			return nil, &intent.FieldError{Field: "grants", Reason: fmt.Sprintf("at most %d grants per role", maxGrants)}
		}
	}
	return grants, nil
}

// grantJSON mirrors intent.GrantSpec but lets actions be a list or a comma-separated string.
type grantJSON struct {
	Destination    string          `json:"destination"`
	Actions        json.RawMessage `json:"actions"`
	MaxSensitivity string          `json:"max_sensitivity"`
	AzureRole      string          `json:"azure_role,omitempty"`
}

func decodeGrantJSON(encoded []byte, offset int) ([]intent.GrantSpec, error) {
	var objects []json.RawMessage
	if bytes.HasPrefix(encoded, []byte("[")) {
		if err := json.Unmarshal(encoded, &objects); err != nil {
			return nil, &intent.FieldError{Field: "grants", Reason: "invalid JSON: " + err.Error()}
		}
	} else {
		objects = []json.RawMessage{encoded}
	}
	specs := make([]intent.GrantSpec, 0, len(objects))
	for i, obj := range objects {
		field := fmt.Sprintf("grants[%d]", offset+i)
		dec := json.NewDecoder(bytes.NewReader(obj))
		dec.DisallowUnknownFields()
		var g grantJSON
		if err := dec.Decode(&g); err != nil {
			return nil, &intent.FieldError{Field: field, Reason: "must be an object with destination, actions and max_sensitivity: " + err.Error()}
		}
		actions, err := decodeActions(g.Actions)
		if err != nil {
			return nil, &intent.FieldError{Field: field + ".actions", Reason: err.Error()}
		}
		specs = append(specs, intent.GrantSpec{Destination: g.Destination, Actions: actions, MaxSensitivity: g.MaxSensitivity, AzureRole: g.AzureRole})
	}
	return specs, nil
}

func decodeActions(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var joined string
	if err := json.Unmarshal(raw, &joined); err != nil {
		return nil, fmt.Errorf("must be a list of action names")
	}
	for _, a := range strings.Split(joined, ",") {
		if a = strings.TrimSpace(a); a != "" {
			list = append(list, a)
		}
	}
	return list, nil
}
