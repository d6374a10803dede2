package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors returned by Verify. ErrExpired and ErrNotYetValid come with the parsed claims of a
// token whose signature and issuer checked out; ErrInvalidToken with none.
var (
	ErrExpired      = errors.New("token has expired")
	ErrNotYetValid  = errors.New("token is not valid yet")
	ErrInvalidToken = errors.New("invalid token")
)

// Claims is the payload of a token credential.
type Claims struct {
	Issuer       string        `json:"iss"`
	Subject      string        `json:"sub"`
	Audience     []string      `json:"aud"`
	IssuedAt     int64         `json:"iat"`
	NotBefore    int64         `json:"nbf"`
	Expiry       int64         `json:"exp"`
	ID           string        `json:"jti"`
	NHI          NHIClaim      `json:"nhi"`
	Confirmation *Confirmation `json:"cnf,omitempty"`
	// Extra holds the role's extra claims: top-level members of the token other than the
	// reserved ones above. MarshalJSON writes them beside the registered claims.
	Extra map[string]any `json:"-"`
}

// NHIClaim is the approved intent the token was issued for.
type NHIClaim struct {
	Task         string   `json:"task"`
	Actions      []string `json:"actions"`
	Sensitivity  string   `json:"sensitivity"`
	Role         string   `json:"role"`
	Destinations []string `json:"destinations"`
}

// Confirmation binds the token to a proof-of-possession key (RFC 7800 "cnf", RFC 9449 "jkt").
type Confirmation struct {
	JKT string `json:"jkt"`
}

// reservedClaims may not be set through a role's extra_claims.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true,
	"iat": true, "jti": true, "nhi": true, "cnf": true,
}

// claimsBody is Claims without its JSON methods (Extra is tagged "-").
type claimsBody Claims

// MarshalJSON writes the registered claims followed by Extra in name order. aud and the
// nhi lists are always JSON arrays. An Extra member with a reserved name is an error.
func (c Claims) MarshalJSON() ([]byte, error) {
	body := claimsBody(c)
	body.Audience = nonNil(body.Audience)
	body.NHI.Actions = nonNil(body.NHI.Actions)
	body.NHI.Destinations = nonNil(body.NHI.Destinations)
	out, err := json.Marshal(body)
	if err != nil || len(c.Extra) == 0 {
		return out, err
	}
	names := make([]string, 0, len(c.Extra))
	for k := range c.Extra {
		if isReservedClaim(k) {
			return nil, fmt.Errorf("extra claim %q collides with a reserved claim", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	buf := bytes.NewBuffer(make([]byte, 0, len(out)+32*len(names)))
	buf.Write(out[:len(out)-1]) // drop the closing brace
	for _, k := range names {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(c.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("extra claim %q: %w", k, err)
		}
		buf.WriteByte(',')
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the registered claims and collects every other member into Extra.
// Members are matched by exact name: encoding/json's case-insensitive field matching would
// otherwise let a member such as "ISS" overwrite "iss".
func (c *Claims) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	if all == nil {
		return fmt.Errorf("claims must be a JSON object")
	}
	var out Claims
	fields := map[string]any{
		"iss": &out.Issuer, "sub": &out.Subject, "aud": &out.Audience,
		"iat": &out.IssuedAt, "nbf": &out.NotBefore, "exp": &out.Expiry, "jti": &out.ID,
		"nhi": &out.NHI, "cnf": &out.Confirmation,
	}
	for k, raw := range all {
		if dst, ok := fields[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("claim %q: %w", k, err)
			}
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if out.Extra == nil {
			out.Extra = make(map[string]any)
		}
		out.Extra[k] = v
	}
	*c = out
	return nil
}

// isReservedClaim reports whether name equals a reserved claim, ignoring case (Unicode
// simple folding, as encoding/json matches struct fields), so that no extra claim can be
// mistaken for a registered one by a lenient decoder.
func isReservedClaim(name string) bool {
	for r := range reservedClaims {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
