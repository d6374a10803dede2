package intent

import (
	"strings"
	"testing"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"read", "read", ""},
		{"WRITE", "write", ""},
		{"List", "list", ""},
		{"delete", "delete", ""},
		{"s3:GetObject", "s3:GetObject", ""},
		{"S3:GetObject", "s3:GetObject", ""},
		{"kms:Decrypt", "kms:Decrypt", ""},
		{"execute-api:Invoke", "execute-api:Invoke", ""},
		{"frobnicate", "", "not a verb"},
		{"*", "", "too wide"},
		{"", "", "empty"},
		{"s3:Get*", "", "wildcard"},
		{"s3:*", "", "wildcard"},
		{":GetObject", "", "empty service"},
		{"s3:", "", "empty action name"},
		{"s 3:Get", "", "contains"},
		{"s3:Get Object", "", "contains"},
		{"read ", "", "not a verb"},
		{"s3:" + strings.Repeat("a", 200), "", "longer"},
	}
	for _, tt := range tests {
		got, err := ParseAction(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAction(%q) = %q, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseAction(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseGrantAction(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"read", "read", ""},
		{"s3:Get*", "s3:Get*", ""},
		{"s3:*", "s3:*", ""},
		{"s3:GetObject", "s3:GetObject", ""},
		{"*", "", "too wide"},
		{"read*", "", "not a verb"},
		{"*:Get", "", "contains"},
		{"s3:G*t", "", "only end in *"},
		{"s3:Get**", "", "only end in *"},
	}
	for _, tt := range tests {
		got, err := ParseGrantAction(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseGrantAction(%q) = %q, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseGrantAction(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestActionCoveredBy(t *testing.T) {
	tests := []struct {
		a, grant Action
		want     bool
	}{
		{"read", "read", true},
		{"read", "write", false},
		{"read", "s3:*", false},
		{"s3:GetObject", "read", false},
		{"s3:GetObject", "s3:GetObject", true},
		{"s3:getobject", "S3:GetObject", true},
		{"s3:GetObject", "s3:Get*", true},
		{"s3:GetObject", "s3:get*", true},
		{"s3:GetObject", "s3:*", true},
		{"s3:PutObject", "s3:Get*", false},
		{"s3:GetObject", "s3:GetObjectAcl", false},
		{"s3:GetObjectAcl", "s3:GetObject", false},
		{"s3:GetObject", "kms:*", false},
		{"s3:Get*", "s3:Get*", true},
		{"s3:Get*", "s3:G*", true},
		{"s3:G*", "s3:Get*", false},
		{"s3:Get*", "s3:GetObject", false},
	}
	for _, tt := range tests {
		if got := tt.a.CoveredBy(tt.grant); got != tt.want {
			t.Errorf("%q.CoveredBy(%q) = %v, want %v", tt.a, tt.grant, got, tt.want)
		}
	}
	if !Action("read").IsVerb() || Action("s3:GetObject").IsVerb() {
		t.Error("IsVerb is wrong")
	}
}
