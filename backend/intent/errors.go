package intent

// Check names one step of the issuing decision, so callers and audit logs can tell which
// rule refused a request without parsing the reason text.
type Check string

const (
	CheckRole        Check = "role"
	CheckIdentity    Check = "identity"
	CheckCIDR        Check = "cidr"
	CheckTimeWindow  Check = "time_window"
	CheckTask        Check = "task"
	CheckDestination Check = "destination"
	CheckAction      Check = "action"
	CheckSensitivity Check = "sensitivity"
	CheckTTL         Check = "ttl"
	CheckQuota       Check = "quota"
)

// Denial is a well-formed request that policy refuses (HTTP 403).
type Denial struct {
	Check  Check
	Reason string
}

func (d *Denial) Error() string { return "denied by " + string(d.Check) + " check: " + d.Reason }

// FieldError is malformed input (HTTP 400). Field names the request or role field as the
// API spells it; for list entries it carries the index, e.g. "grants[2].destination".
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func deny(c Check, reason string) *Denial { return &Denial{Check: c, Reason: reason} }

func fieldErr(field, reason string) *FieldError { return &FieldError{Field: field, Reason: reason} }
