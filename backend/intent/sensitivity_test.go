package intent

import "testing"

func TestParseSensitivity(t *testing.T) {
	tests := []struct {
		in   string
		want Sensitivity
		ok   bool
	}{
		{"public", Public, true},
		{"Internal", Internal, true},
		{"CONFIDENTIAL", Confidential, true},
		{"restricted", Restricted, true},
		{"", 0, false},
		{"secret", 0, false},
		{" internal", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSensitivity(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSensitivity(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSensitivityOrderAndString(t *testing.T) {
	if !(Public < Internal && Internal < Confidential && Confidential < Restricted) {
		t.Fatal("levels are not ordered public < internal < confidential < restricted")
	}
	for lvl, name := range map[Sensitivity]string{Public: "public", Internal: "internal", Confidential: "confidential", Restricted: "restricted", 0: "Sensitivity(0)", 9: "Sensitivity(9)"} {
		if lvl.String() != name {
			t.Errorf("%d.String() = %q, want %q", int(lvl), lvl.String(), name)
		}
	}
	if Sensitivity(0).Valid() || !Restricted.Valid() {
		t.Error("Valid is wrong")
	}
}
