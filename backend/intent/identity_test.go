package intent

import (
	"strings"
	"testing"
)

func TestParseAliasBinding(t *testing.T) {
	tests := []struct {
		in   string
		want Alias
		ok   bool
	}{
		{"auth_kubernetes_1a2b:system:serviceaccount:jobs:exporter", Alias{"auth_kubernetes_1a2b", "system:serviceaccount:jobs:exporter"}, true},
		{"auth_approle_9:exporter", Alias{"auth_approle_9", "exporter"}, true},
		{"auth_approle_9", Alias{}, false},
		{":name", Alias{}, false},
		{"acc:", Alias{}, false},
		{"acc x:name", Alias{}, false},
		{"acc:na\nme", Alias{}, false},
	}
	for _, tt := range tests {
		got, err := ParseAliasBinding(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseAliasBinding(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestIdentityBindingCheck(t *testing.T) {
	caller := Caller{
		EntityID: "ent-1",
		Aliases:  []Alias{{"auth_k8s", "system:serviceaccount:jobs:exporter"}, {"auth_approle", "exporter"}},
		Metadata: map[string]string{"team": "payments", "env": "prod"},
		Groups:   []string{"Exporters", "oncall"},
	}
	tests := []struct {
		name    string
		b       IdentityBinding
		c       Caller
		wantErr string
	}{
		{"no binding admits anyone", IdentityBinding{}, Caller{}, ""},
		{"no entity fails any binding", IdentityBinding{Groups: []string{"x"}}, Caller{Groups: []string{"x"}}, "has no identity entity"},
		{"entity id listed", IdentityBinding{EntityIDs: []string{"ent-0", "ent-1"}}, caller, ""},
		{"entity id not listed", IdentityBinding{EntityIDs: []string{"ent-0"}}, caller, `entity "ent-1" is not in bound_entity_ids of role "r"`},
		{"alias matches accessor and name", IdentityBinding{Aliases: []Alias{{"auth_approle", "exporter"}}}, caller, ""},
		{"alias name on other mount", IdentityBinding{Aliases: []Alias{{"auth_userpass", "exporter"}}}, caller, "bound_entity_aliases"},
		{"metadata all keys equal", IdentityBinding{Metadata: map[string]string{"team": "payments", "env": "prod"}}, caller, ""},
		{"metadata value differs", IdentityBinding{Metadata: map[string]string{"team": "payments", "env": "dev"}}, caller, `entity metadata "env" does not match`},
		{"metadata key missing", IdentityBinding{Metadata: map[string]string{"region": "eu"}}, caller, `entity metadata "region"`},
		{"group case-insensitive", IdentityBinding{Groups: []string{"exporters"}}, caller, ""},
		{"group missing", IdentityBinding{Groups: []string{"admins"}}, caller, "bound_group_names"},
		{"AND across categories", IdentityBinding{EntityIDs: []string{"ent-1"}, Groups: []string{"admins"}}, caller, "bound_group_names"},
		{"all categories pass", IdentityBinding{EntityIDs: []string{"ent-1"}, Aliases: []Alias{{"auth_k8s", "system:serviceaccount:jobs:exporter"}},
			Metadata: map[string]string{"team": "payments"}, Groups: []string{"oncall"}}, caller, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.check("r", tt.c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("check error = %v, want one containing %q", err, tt.wantErr)
			}
			for _, v := range []string{"payments", "prod", "dev", "admins"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("reason %q echoes configured or caller value %q", err, v)
				}
			}
		})
	}
	if !(IdentityBinding{}).IsZero() || (IdentityBinding{Groups: []string{"g"}}).IsZero() {
		t.Error("IsZero is wrong")
	}
}
