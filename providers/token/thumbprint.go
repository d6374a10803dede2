package token

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// maxJWKSize bounds the proof-of-possession key a caller may send. An RSA 8192-bit public
// JWK is about 1.5 KB; anything far larger is not a key.
const maxJWKSize = 16 << 10

// privateMembers are JWK members that only private or symmetric keys carry (RFC 7518 §6).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of a
// public signing key given as JWK JSON. It accepts EC (P-256, P-384, P-521), RSA (2048 to
// 16384 bits) and OKP Ed25519 keys and refuses, with a *providers.FieldError naming
// "public_key": malformed or non-object JSON, duplicate members, private or symmetric keys,
// unsupported key types or curves, non-canonical base64url, points not on the curve, and
// keys whose "use" is not "sig". The thumbprint is computed over the key's required members
// only, so two JWKs of the same key with different optional members (kid, alg) agree.
func Thumbprint(jwk []byte) (string, error) {
	canonical, err := canonicalJWK(jwk)
	if err != nil {
		return "", &providers.FieldError{Field: "public_key", Reason: err.Error()}
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// canonicalJWK validates a public JWK and returns the RFC 7638 §3.2 input: the required
// members in lexicographic order, no whitespace.
func canonicalJWK(jwk []byte) (string, error) {
	if len(bytes.TrimSpace(jwk)) == 0 {
		return "", fmt.Errorf("is empty; expected a public JWK JSON object")
	}
	if len(jwk) > maxJWKSize {
		return "", fmt.Errorf("is larger than %d bytes", maxJWKSize)
	}
	members, err := decodeJSONObject(jwk)
	if err != nil {
		return "", fmt.Errorf("is not a JSON object: %v", err)
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			if m == "k" {
				return "", fmt.Errorf("must be an asymmetric public key; symmetric keys are refused")
			}
			return "", fmt.Errorf("must be a public key; private member %q is present", m)
		}
	}
	if raw, ok := members["use"]; ok {
		use, err := jsonString(raw)
		if err != nil || use != "sig" {
			return "", fmt.Errorf(`"use" must be "sig" when present`)
		}
	}
	kty, err := memberString(members, "kty")
	if err != nil {
		return "", err
	}
	switch kty {
	case "EC":
		return canonicalEC(members)
	case "RSA":
		return canonicalRSA(members)
	case "OKP":
		return canonicalOKP(members)
	case "oct":
		return "", fmt.Errorf("must be an asymmetric public key; symmetric keys are refused")
	default:
		return "", fmt.Errorf("unsupported key type %q; use EC, RSA or OKP", kty)
	}
}

func canonicalEC(m map[string]json.RawMessage) (string, error) {
	crv, err := memberString(m, "crv")
	if err != nil {
		return "", err
	}
	var curve ecdh.Curve
	var size int
	switch crv {
	case "P-256":
		curve, size = ecdh.P256(), 32
	case "P-384":
		curve, size = ecdh.P384(), 48
	case "P-521":
		curve, size = ecdh.P521(), 66
	default:
		return "", fmt.Errorf("unsupported EC curve %q; use P-256, P-384 or P-521", crv)
	}
	xs, x, err := memberBase64(m, "x")
	if err != nil {
		return "", err
	}
	ys, y, err := memberBase64(m, "y")
	if err != nil {
		return "", err
	}
	if len(x) != size || len(y) != size {
		return "", fmt.Errorf("EC coordinates for %s must be %d bytes each", crv, size)
	}
	// crypto/ecdh checks the point is on the curve and not the point at infinity.
	point := make([]byte, 0, 1+2*size)
	point = append(point, 4)
	point = append(point, x...)
	point = append(point, y...)
	if _, err := curve.NewPublicKey(point); err != nil {
		return "", fmt.Errorf("EC point is not on curve %s", crv)
	}
	return `{"crv":"` + crv + `","kty":"EC","x":"` + xs + `","y":"` + ys + `"}`, nil
}

const (
	minRSABits = 2048
	maxRSABits = 16384
)

func canonicalRSA(m map[string]json.RawMessage) (string, error) {
	ns, n, err := memberBase64(m, "n")
	if err != nil {
		return "", err
	}
	es, e, err := memberBase64(m, "e")
	if err != nil {
		return "", err
	}
	// RFC 7518 §6.3.1: both use the minimum number of octets; a leading zero octet would
	// give the same key a different thumbprint.
	if len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 {
		return "", fmt.Errorf("RSA n and e must be non-empty and have no leading zero octets")
	}
	bits := new(big.Int).SetBytes(n).BitLen()
	if bits < minRSABits || bits > maxRSABits {
		return "", fmt.Errorf("RSA modulus must be %d to %d bits, got %d", minRSABits, maxRSABits, bits)
	}
	if n[len(n)-1]&1 == 0 {
		return "", fmt.Errorf("RSA modulus must be odd")
	}
	if len(e) > 4 {
		return "", fmt.Errorf("RSA exponent is too large")
	}
	var ev uint64
	for _, b := range e {
		ev = ev<<8 | uint64(b)
	}
	if ev < 3 || ev&1 == 0 || ev > 1<<31-1 {
		return "", fmt.Errorf("RSA exponent must be odd, at least 3 and below 2^31")
	}
	return `{"e":"` + es + `","kty":"RSA","n":"` + ns + `"}`, nil
}

func canonicalOKP(m map[string]json.RawMessage) (string, error) {
	crv, err := memberString(m, "crv")
	if err != nil {
		return "", err
	}
	if crv != "Ed25519" {
		return "", fmt.Errorf("unsupported OKP curve %q; only Ed25519 signing keys are accepted", crv)
	}
	xs, x, err := memberBase64(m, "x")
	if err != nil {
		return "", err
	}
	if len(x) != 32 {
		return "", fmt.Errorf("Ed25519 x must be 32 bytes")
	}
	if !validEd25519Point(x) {
		return "", fmt.Errorf("Ed25519 x is not a valid curve point")
	}
	return `{"crv":"Ed25519","kty":"OKP","x":"` + xs + `"}`, nil
}

// decodeJSONObject decodes exactly one JSON object into its members, refusing duplicate
// member names (which parsers resolve differently) and trailing data.
func decodeJSONObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected an object")
	}
	members := make(map[string]json.RawMessage, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("expected a member name")
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate member %q", name)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		members[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the object")
	}
	return members, nil
}

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("not a string")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

func memberString(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", fmt.Errorf("missing required member %q", name)
	}
	s, err := jsonString(raw)
	if err != nil {
		return "", fmt.Errorf("member %q must be a string", name)
	}
	return s, nil
}

// memberBase64 returns a member that must be canonical unpadded base64url, as written and
// decoded.
func memberBase64(m map[string]json.RawMessage, name string) (string, []byte, error) {
	s, err := memberString(m, name)
	if err != nil {
		return "", nil, err
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", nil, fmt.Errorf("member %q must be unpadded base64url", name)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", nil, fmt.Errorf("member %q must be unpadded base64url", name)
	}
	return s, b, nil
}

var (
	ed25519P = func() *big.Int {
		p := new(big.Int).Lsh(big.NewInt(1), 255)
		return p.Sub(p, big.NewInt(19))
	}()
	// ed25519D is -121665/121666 mod p (RFC 8032 §5.1).
	ed25519D = func() *big.Int {
		num := new(big.Int).Neg(big.NewInt(121665))
		den := new(big.Int).ModInverse(big.NewInt(121666), ed25519P)
		d := num.Mul(num, den)
		return d.Mod(d, ed25519P)
	}()
)

// validEd25519Point reports whether the 32-byte encoding decodes to a point on edwards25519
// following RFC 8032 §5.1.3: y < p, and x² = (y²-1)/(d·y²+1) has a square root (with x = 0
// only when the sign bit is clear).
func validEd25519Point(enc []byte) bool {
	if len(enc) != 32 {
		return false
	}
	le := make([]byte, 32)
	copy(le, enc)
	sign := le[31] >> 7
	le[31] &= 0x7f
	// big-endian for math/big
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		le[i], le[j] = le[j], le[i]
	}
	y := new(big.Int).SetBytes(le)
	if y.Cmp(ed25519P) >= 0 {
		return false
	}
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, ed25519P)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, ed25519P)
	v := new(big.Int).Mul(ed25519D, y2)
	v.Add(v, big.NewInt(1))
	v.Mod(v, ed25519P)
	if u.Sign() == 0 {
		return sign == 0
	}
	vinv := new(big.Int).ModInverse(v, ed25519P)
	if vinv == nil {
		return false
	}
	x2 := u.Mul(u, vinv)
	x2.Mod(x2, ed25519P)
	return big.Jacobi(x2, ed25519P) == 1
}
