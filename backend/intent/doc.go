// Package intent decides whether one stated intent (task, destinations, actions,
// sensitivity, TTL) fits a role, the caller's identity and the clock.
//
// It is pure domain logic with no Vault or cloud dependency, so every rule can be table
// tested and fuzzed in isolation. The flow is:
//
//	CompilePolicy(RoleSpec)  -> *Policy    (validated once, when a role is written or read)
//	ParseRequest(RawRequest) -> Request    (malformed input: *FieldError, HTTP 400)
//	Evaluate(...)            -> Decision   (first failed check: *Denial, HTTP 403)
//	CheckQuotas(...)                       (needs the live credential count from storage)
//	CheckUse(Intent, ...)                  (one later use of an issued credential)
package intent
