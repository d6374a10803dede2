package azure

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a failed Graph, ARM or token call, described without secrets: the operation,
// the HTTP status and the service's error code and message.
type Error struct {
	Op         string
	StatusCode int
	// Code is the service's error code: Graph's error.code (Request_ResourceNotFound),
	// ARM's error.code (PrincipalNotFound, RoleAssignmentExists).
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("azure: ")
	b.WriteString(e.Op)
	b.WriteString(" failed")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if hint := hintFor(e.StatusCode, e.Code); hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func hintFor(status int, code string) string {
	switch {
	case code == "AuthorizationFailed", code == "Authorization_RequestDenied", status == http.StatusForbidden:
		return "check the root application's Graph permissions (Application.ReadWrite.OwnedBy) and its role on the subscription (Role Based Access Control Administrator, or User Access Administrator)"
	case status == http.StatusUnauthorized, code == "InvalidAuthenticationToken":
		return "the engine's root credentials in config/azure are not valid"
	case status == http.StatusTooManyRequests:
		return "Azure kept throttling after retries; try again later"
	}
	return ""
}

// Service error codes the provider acts on (documented transient or terminal codes,
// never message substrings).
const (
	CodePrincipalNotFound     = "PrincipalNotFound"    // ARM: the new principal has not replicated yet
	CodeRoleAssignmentExists  = "RoleAssignmentExists" // ARM: the same assignment already exists
	CodeGraphResourceNotFound = "Request_ResourceNotFound"
	CodeGraphBadRequest       = "Request_BadRequest"
	CodeRoleDefinitionMissing = "RoleDefinitionDoesNotExist"
)

// IsNotFound reports whether err says the object does not exist (HTTP 404 or Graph's
// Request_ResourceNotFound).
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusNotFound || e.Code == CodeGraphResourceNotFound ||
		e.Code == "ResourceNotFound" || e.Code == "RoleAssignmentNotFound"
}

// HasCode reports whether err carries one of the service error codes.
func HasCode(err error, codes ...string) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if strings.EqualFold(e.Code, c) {
			return true
		}
	}
	return false
}

// TokenError is a refused token request (client credentials). Codes are Entra's
// numeric error_codes (AADSTS…), which say whether the refusal is replication delay.
type TokenError struct {
	StatusCode int
	Codes      []int
	Err        error
}

// Entra error codes seen while a new application or secret replicates.
const (
	aadstsAppNotFound   = 700016  // application not found in the directory
	aadstsInvalidSecret = 7000215 // invalid client secret provided
)

func (e *TokenError) Error() string {
	codes := make([]string, len(e.Codes))
	for i, c := range e.Codes {
		codes[i] = fmt.Sprintf("AADSTS%d", c)
	}
	msg := "azure: the token endpoint refused the credentials"
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if len(codes) > 0 {
		msg += ": " + strings.Join(codes, ", ")
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Err }

// Transient reports whether the refusal is a documented replication delay of a new
// application or password (retry), rather than a wrong secret for good.
func (e *TokenError) Transient() bool {
	if e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests {
		return true
	}
	for _, c := range e.Codes {
		switch c {
		case aadstsAppNotFound, aadstsInvalidSecret:
			return true
		}
	}
	return false
}

func transientToken(err error) bool {
	var te *TokenError
	return errors.As(err, &te) && te.Transient()
}
