// Package drift compares what an issued credential is actually used for with what was
// approved, and says how serious each difference is.
//
// It is pure domain logic (standard library and backend/intent only), so every rule can
// be table tested, fuzzed and benchmarked without Vault or a cloud. The flow is:
//
//	DecodeBatch(body)          -> []Event     (malformed input: *intent.FieldError, HTTP 400)
//	Baseline.Observe(cred, t)                 (the role's volume norm; call before Judge)
//	Judge(Subject, Event, Baseline) -> []Finding
//	ShouldRevoke(findings)                    (any High or Critical)
//
// The engine matches each event to a credential record, builds a Subject from the record
// and the role as they are now, and stores, audits and (with drift_action=revoke) acts on
// the findings. Finding summaries are one line and never carry secret material.
package drift
