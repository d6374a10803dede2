package intent

import (
	"fmt"
	"net/netip"
	"time"
)

// Engine defaults for a role that sets no TTLs.
const (
	DefaultTTL    = 5 * time.Minute
	DefaultMaxTTL = time.Hour
)

// Bounds on list sizes in a role. They keep one decision's cost predictable (the
// benchmark role has 50 grants and 10 windows) and reject pasted-in garbage early.
const (
	MaxGrants          = 256
	MaxActionsPerGrant = 64
	MaxAllowedTasks    = 256
	MaxTimeWindows     = 64
	MaxBindings        = 256
)

// GrantSpec is one grant as stored in a role.
type GrantSpec struct {
	Destination    string   `json:"destination"`
	Actions        []string `json:"actions"`
	MaxSensitivity string   `json:"max_sensitivity"`
	AzureRole      string   `json:"azure_role,omitempty"`
}

// Grant is a compiled GrantSpec.
type Grant struct {
	Destination    Pattern
	Actions        []Action
	MaxSensitivity Sensitivity
	AzureRole      string
}

// RoleSpec holds the raw role fields as stored; CompilePolicy validates every one.
type RoleSpec struct {
	Name     string
	Disabled bool

	AllowedTasks []string // globs; '*' matches any run of characters
	Grants       []GrantSpec

	TimeWindows []string
	NotBefore   string // RFC 3339 or ""
	NotAfter    string // RFC 3339 or ""

	BoundEntityIDs      []string
	BoundEntityAliases  []string
	BoundEntityMetadata map[string]string
	BoundGroupNames     []string
	BoundCIDRs          []string

	TTL    time.Duration // 0 = DefaultTTL
	MaxTTL time.Duration // 0 = DefaultMaxTTL

	MaxActivePerTask   int // 0 = unlimited
	MaxActivePerEntity int // 0 = unlimited
}

// Policy is a validated role, ready for Evaluate.
type Policy struct {
	Name               string
	Enabled            bool
	AllowedTasks       []string
	Grants             []Grant
	Schedule           Schedule
	Identity           IdentityBinding
	CIDRs              []netip.Prefix
	TTL                time.Duration
	MaxTTL             time.Duration
	MaxActivePerTask   int
	MaxActivePerEntity int
}

// CompilePolicy validates a role and resolves its defaults. Errors are *FieldError naming
// the role field as the API spells it, with the index for list entries
// ("grants[2].destination", "time_windows[0]", "bound_cidrs[1]").
func CompilePolicy(spec RoleSpec) (*Policy, error) {
	if spec.Name == "" {
		return nil, fieldErr("name", "is required")
	}
	p := &Policy{
		Name:               spec.Name,
		Enabled:            !spec.Disabled,
		MaxActivePerTask:   spec.MaxActivePerTask,
		MaxActivePerEntity: spec.MaxActivePerEntity,
	}
	steps := []func(*Policy, RoleSpec) error{
		compileTasks, compileGrants, compileSchedule, compileIdentity, compileCIDRs, compileTTLs, compileQuotas,
	}
	for _, step := range steps {
		if err := step(p, spec); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func compileTasks(p *Policy, spec RoleSpec) error {
	if len(spec.AllowedTasks) == 0 {
		return fieldErr("allowed_tasks", "is required; list the task names (globs) this role may issue for, e.g. [\"nightly-export-*\"]")
	}
	if len(spec.AllowedTasks) > MaxAllowedTasks {
		return fieldErr("allowed_tasks", fmt.Sprintf("has %d entries; at most %d are allowed", len(spec.AllowedTasks), MaxAllowedTasks))
	}
	for i, glob := range spec.AllowedTasks {
		if err := ValidateTaskGlob(glob); err != nil {
			return fieldErr(fmt.Sprintf("allowed_tasks[%d]", i), err.Error())
		}
	}
	p.AllowedTasks = append([]string(nil), spec.AllowedTasks...)
	return nil
}

func compileGrants(p *Policy, spec RoleSpec) error {
	if len(spec.Grants) == 0 {
		return fieldErr("grants", "is required; list at least one {\"destination\", \"actions\", \"max_sensitivity\"}")
	}
	if len(spec.Grants) > MaxGrants {
		return fieldErr("grants", fmt.Sprintf("has %d entries; at most %d are allowed", len(spec.Grants), MaxGrants))
	}
	p.Grants = make([]Grant, len(spec.Grants))
	for i, gs := range spec.Grants {
		g, err := compileGrant(i, gs)
		if err != nil {
			return err
		}
		p.Grants[i] = g
	}
	return nil
}

func compileGrant(i int, gs GrantSpec) (Grant, error) {
	field := func(name string) string { return fmt.Sprintf("grants[%d].%s", i, name) }
	var g Grant
	var err error
	if gs.Destination == "" {
		return g, fieldErr(field("destination"), "is required")
	}
	if g.Destination, err = ParsePattern(gs.Destination); err != nil {
		return g, fieldErr(field("destination"), err.Error())
	}
	if len(gs.Actions) == 0 {
		return g, fieldErr(field("actions"), "is required; list verbs (read, write, list, delete) or native actions (s3:GetObject)")
	}
	if len(gs.Actions) > MaxActionsPerGrant {
		return g, fieldErr(field("actions"), fmt.Sprintf("has %d entries; at most %d are allowed", len(gs.Actions), MaxActionsPerGrant))
	}
	g.Actions = make([]Action, 0, len(gs.Actions))
	for j, s := range gs.Actions {
		a, err := ParseGrantAction(s)
		if err != nil {
			return g, fieldErr(fmt.Sprintf("grants[%d].actions[%d]", i, j), err.Error())
		}
		g.Actions = appendUniqueAction(g.Actions, a)
	}
	// An unset level means internal, the same default a request gets, so a grant
	// written without it still serves a request written without it.
	g.MaxSensitivity = Internal
	if gs.MaxSensitivity != "" {
		if g.MaxSensitivity, err = ParseSensitivity(gs.MaxSensitivity); err != nil {
			return g, fieldErr(field("max_sensitivity"), err.Error())
		}
	}
	if len(gs.AzureRole) > 256 || hasControlOrInvalid(gs.AzureRole) {
		return g, fieldErr(field("azure_role"), "must be a role definition name of at most 256 printable characters")
	}
	g.AzureRole = gs.AzureRole
	return g, nil
}

func compileSchedule(p *Policy, spec RoleSpec) error {
	if len(spec.TimeWindows) > MaxTimeWindows {
		return fieldErr("time_windows", fmt.Sprintf("has %d entries; at most %d are allowed", len(spec.TimeWindows), MaxTimeWindows))
	}
	for i, s := range spec.TimeWindows {
		w, err := ParseTimeWindow(s)
		if err != nil {
			return fieldErr(fmt.Sprintf("time_windows[%d]", i), err.Error())
		}
		p.Schedule.Windows = append(p.Schedule.Windows, w)
	}
	var err error
	if p.Schedule.NotBefore, err = parseRFC3339("not_before", spec.NotBefore); err != nil {
		return err
	}
	if p.Schedule.NotAfter, err = parseRFC3339("not_after", spec.NotAfter); err != nil {
		return err
	}
	if nb, na := p.Schedule.NotBefore, p.Schedule.NotAfter; !nb.IsZero() && !na.IsZero() && !na.After(nb) {
		return fieldErr("not_after", fmt.Sprintf("%s is not after not_before %s", spec.NotAfter, spec.NotBefore))
	}
	return nil
}

func parseRFC3339(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fieldErr(field, fmt.Sprintf("%s is not an RFC 3339 time such as 2026-01-31T18:00:00Z", quote(s)))
	}
	return t, nil
}

func compileIdentity(p *Policy, spec RoleSpec) error {
	b := &p.Identity
	var err error
	if b.EntityIDs, err = nonEmptyList("bound_entity_ids", spec.BoundEntityIDs); err != nil {
		return err
	}
	if b.Groups, err = nonEmptyList("bound_group_names", spec.BoundGroupNames); err != nil {
		return err
	}
	if len(spec.BoundEntityAliases) > MaxBindings {
		return fieldErr("bound_entity_aliases", fmt.Sprintf("has %d entries; at most %d are allowed", len(spec.BoundEntityAliases), MaxBindings))
	}
	for i, s := range spec.BoundEntityAliases {
		a, err := ParseAliasBinding(s)
		if err != nil {
			return fieldErr(fmt.Sprintf("bound_entity_aliases[%d]", i), err.Error())
		}
		b.Aliases = append(b.Aliases, a)
	}
	if len(spec.BoundEntityMetadata) > MaxBindings {
		return fieldErr("bound_entity_metadata", fmt.Sprintf("has %d keys; at most %d are allowed", len(spec.BoundEntityMetadata), MaxBindings))
	}
	for k, v := range spec.BoundEntityMetadata {
		if k == "" {
			return fieldErr("bound_entity_metadata", "has an empty key")
		}
		if b.Metadata == nil {
			b.Metadata = make(map[string]string, len(spec.BoundEntityMetadata))
		}
		b.Metadata[k] = v
	}
	return nil
}

func nonEmptyList(field string, in []string) ([]string, error) {
	if len(in) > MaxBindings {
		return nil, fieldErr(field, fmt.Sprintf("has %d entries; at most %d are allowed", len(in), MaxBindings))
	}
	for i, s := range in {
		if s == "" || hasControlOrInvalid(s) {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "must be a non-empty printable string")
		}
	}
	if len(in) == 0 {
		return nil, nil
	}
	return append([]string(nil), in...), nil
}

func compileCIDRs(p *Policy, spec RoleSpec) error {
	if len(spec.BoundCIDRs) > MaxBindings {
		return fieldErr("bound_cidrs", fmt.Sprintf("has %d entries; at most %d are allowed", len(spec.BoundCIDRs), MaxBindings))
	}
	for i, s := range spec.BoundCIDRs {
		prefix, err := ParseCIDR(s)
		if err != nil {
			return fieldErr(fmt.Sprintf("bound_cidrs[%d]", i), err.Error())
		}
		p.CIDRs = append(p.CIDRs, prefix)
	}
	return nil
}

func compileTTLs(p *Policy, spec RoleSpec) error {
	if spec.TTL < 0 {
		return fieldErr("ttl", "must not be negative")
	}
	if spec.MaxTTL < 0 {
		return fieldErr("max_ttl", "must not be negative")
	}
	p.TTL, p.MaxTTL = spec.TTL, spec.MaxTTL
	if p.TTL == 0 {
		p.TTL = DefaultTTL
	}
	if p.MaxTTL == 0 {
		p.MaxTTL = DefaultMaxTTL
	}
	if p.TTL > p.MaxTTL {
		if spec.TTL == 0 {
			// Only max_ttl was set, below the engine default: the default follows it.
			p.TTL = p.MaxTTL
			return nil
		}
		return fieldErr("ttl", fmt.Sprintf("%s exceeds max_ttl %s", formatDuration(p.TTL), formatDuration(p.MaxTTL)))
	}
	return nil
}

func compileQuotas(p *Policy, spec RoleSpec) error {
	if spec.MaxActivePerTask < 0 {
		return fieldErr("max_active_per_task", "must not be negative; 0 means unlimited")
	}
	if spec.MaxActivePerEntity < 0 {
		return fieldErr("max_active_per_entity", "must not be negative; 0 means unlimited")
	}
	return nil
}
