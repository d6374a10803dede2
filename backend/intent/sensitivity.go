package intent

import (
	"fmt"
	"strings"
)

// Sensitivity is the data classification a request declares. The zero value is not a
// level, so a forgotten assignment can never silently mean "public".
type Sensitivity int

const (
	Public Sensitivity = iota + 1
	Internal
	Confidential
	Restricted
)

var sensitivityNames = [...]string{Public: "public", Internal: "internal", Confidential: "confidential", Restricted: "restricted"}

// ParseSensitivity accepts the level names case-insensitively. An empty string is an
// error because the right default differs between a request and a grant.
func ParseSensitivity(s string) (Sensitivity, error) {
	if s == "" {
		return 0, fmt.Errorf("sensitivity is empty; expected one of public, internal, confidential, restricted")
	}
	for lvl := Public; lvl <= Restricted; lvl++ {
		if strings.EqualFold(s, sensitivityNames[lvl]) {
			return lvl, nil
		}
	}
	return 0, fmt.Errorf("unknown sensitivity %s; expected one of public, internal, confidential, restricted", quote(s))
}

func (s Sensitivity) String() string {
	if s >= Public && s <= Restricted {
		return sensitivityNames[s]
	}
	return fmt.Sprintf("Sensitivity(%d)", int(s))
}

// Valid reports whether s is one of the four levels.
func (s Sensitivity) Valid() bool { return s >= Public && s <= Restricted }
