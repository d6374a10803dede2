package intent

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseRequestValid(t *testing.T) {
	req, err := ParseRequest(RawRequest{
		Task:          "nightly-export",
		Destinations:  []string{"HTTPS://Reports.Internal/exports/*", "s3://reports/q1.csv", "https://reports.internal/exports/*"},
		Actions:       []string{"READ", "s3:GetObject", "read"},
		Sensitivity:   "Confidential",
		Justification: "quarterly export for finance — ticket FIN-123",
		TTL:           "15m",
	})
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, d := range req.Destinations {
		dests = append(dests, d.String())
	}
	if want := []string{"https://reports.internal/exports/*", "s3://reports/q1.csv"}; !reflect.DeepEqual(dests, want) {
		t.Errorf("destinations = %v, want %v (canonical, deduplicated, in order)", dests, want)
	}
	if want := []Action{"read", "s3:GetObject"}; !reflect.DeepEqual(req.Actions, want) {
		t.Errorf("actions = %v, want %v", req.Actions, want)
	}
	if req.Sensitivity != Confidential || req.TTL != 15*time.Minute || req.Task != "nightly-export" {
		t.Errorf("request = %+v", req)
	}
}

func TestParseRequestDefaults(t *testing.T) {
	req, err := ParseRequest(RawRequest{Task: "t", Destinations: []string{"svc://billing/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if req.Actions != nil || req.Sensitivity != Internal || req.TTL != 0 || req.Justification != "" {
		t.Errorf("defaults = %+v", req)
	}
	req, err = ParseRequest(RawRequest{Task: "t", Destinations: []string{"svc://billing/*"}, Actions: []string{}})
	if err != nil || req.Actions != nil {
		t.Errorf("empty action list should mean the default: %+v, %v", req, err)
	}
}

func TestParseRequestFieldErrors(t *testing.T) {
	base := func() RawRequest {
		return RawRequest{Task: "t", Destinations: []string{"s3://b/k"}}
	}
	many := func(n int, f func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name   string
		mutate func(*RawRequest)
		field  string
		reason string
	}{
		{"task missing", func(r *RawRequest) { r.Task = "" }, "task", "required"},
		{"task huge", func(r *RawRequest) { r.Task = strings.Repeat("x", 10000) }, "task", "at most 128"},
		{"task charset", func(r *RawRequest) { r.Task = "rm -rf" }, "task", "contains"},
		{"task wildcard", func(r *RawRequest) { r.Task = "nightly-*" }, "task", "contains"},
		{"no destinations", func(r *RawRequest) { r.Destinations = nil }, "destinations", "required"},
		{"1000 destinations", func(r *RawRequest) {
			r.Destinations = many(1000, func(i int) string { return fmt.Sprintf("s3://b/%d", i) })
		}, "destinations", "at most 64"},
		{"bad destination", func(r *RawRequest) { r.Destinations = []string{"s3://b/k", "s3://b/../etc"} }, "destinations", "entry 1"},
		{"unknown action", func(r *RawRequest) { r.Actions = []string{"frobnicate"} }, "actions", "not a verb"},
		{"star action", func(r *RawRequest) { r.Actions = []string{"*"} }, "actions", "too wide"},
		{"wildcard native action", func(r *RawRequest) { r.Actions = []string{"s3:Get*"} }, "actions", "wildcard"},
		{"too many actions", func(r *RawRequest) { r.Actions = many(33, func(int) string { return "read" }) }, "actions", "at most 32"},
		{"sensitivity", func(r *RawRequest) { r.Sensitivity = "top-secret" }, "sensitivity", "unknown sensitivity"},
		{"justification long", func(r *RawRequest) { r.Justification = strings.Repeat("é", 1025) }, "justification", "at most 1024"},
		{"justification newline", func(r *RawRequest) { r.Justification = "ok\nFORGED audit line" }, "justification", "control"},
		{"justification utf8", func(r *RawRequest) { r.Justification = "\xff" }, "justification", "UTF-8"},
		{"ttl negative", func(r *RawRequest) { r.TTL = "-1" }, "ttl", "must be a positive duration"},
		{"ttl zero", func(r *RawRequest) { r.TTL = "0" }, "ttl", "must be a positive duration"},
		{"ttl zero duration", func(r *RawRequest) { r.TTL = "0s" }, "ttl", "must be a positive duration"},
		{"ttl words", func(r *RawRequest) { r.TTL = "abc" }, "ttl", "must be a positive duration"},
		{"ttl dots", func(r *RawRequest) { r.TTL = "1.5.5" }, "ttl", "must be a positive duration"},
		{"ttl negative duration", func(r *RawRequest) { r.TTL = "-5m" }, "ttl", "must be a positive duration"},
		{"ttl overflow", func(r *RawRequest) { r.TTL = "99999999999999999999" }, "ttl", "too large"},
		{"ttl overflow seconds", func(r *RawRequest) { r.TTL = "9223372037" }, "ttl", "too large"},
		{"ttl sub-second", func(r *RawRequest) { r.TTL = "500ms" }, "ttl", "1s minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := base()
			tt.mutate(&raw)
			_, err := ParseRequest(raw)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseRequest error = %v, want *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("FieldError = {%q, %q}; want field %q with %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
			if len(fe.Error()) > 600 {
				t.Errorf("error is %d bytes; caller input should be truncated", len(fe.Error()))
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"300", 300 * time.Second},
		{"5m", 5 * time.Minute},
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"1.5s", 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
