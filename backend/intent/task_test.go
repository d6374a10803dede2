package intent

import (
	"strings"
	"testing"
)

func TestValidateTask(t *testing.T) {
	for _, ok := range []string{"nightly-export", "a", "job/2026-12-04.run:3", "agent@host+1", strings.Repeat("t", MaxTaskLength)} {
		if err := ValidateTask(ok); err != nil {
			t.Errorf("ValidateTask(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "with space", "star*", "semi;colon", "ünï", strings.Repeat("t", MaxTaskLength+1), "new\nline"} {
		if err := ValidateTask(bad); err == nil {
			t.Errorf("ValidateTask(%q) accepted", bad)
		}
	}
	if err := ValidateTaskGlob("nightly-*"); err != nil {
		t.Errorf("ValidateTaskGlob: %v", err)
	}
	if err := ValidateTaskGlob("a b*"); err == nil {
		t.Error("ValidateTaskGlob accepted a space")
	}
}

func TestTaskGlobMatch(t *testing.T) {
	tests := []struct {
		glob, task string
		want       bool
	}{
		{"nightly-export", "nightly-export", true},
		{"nightly-export", "nightly-export-2", false},
		{"nightly-*", "nightly-export", true},
		{"nightly-*", "nightly-", true},
		{"nightly-*", "daily-export", false},
		{"*", "anything/at:all", true},
		{"*-export", "nightly-export", true},
		{"*-export", "nightly-export-x", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*b*c", "abcbc", true},
		{"job/*/run", "job/x/y/run", true},
		{"a**", "abc", true},
	}
	for _, tt := range tests {
		if got := taskGlobMatch(tt.glob, tt.task); got != tt.want {
			t.Errorf("taskGlobMatch(%q, %q) = %v, want %v", tt.glob, tt.task, got, tt.want)
		}
	}
}
