package providers

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ValidateServiceURL accepts "" or an absolute https URL without user information, query
// or fragment, as every configured endpoint and issuer must be. Plain http is accepted
// only for loopback hosts: local simulators and dev servers. example is shown in the
// error for a relative URL.
func ValidateServiceURL(s, example string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("must be an absolute URL such as %s", example)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return fmt.Errorf("must use https (http is accepted only for localhost)")
		}
	default:
		return fmt.Errorf("must use https, got scheme %q", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("must not contain user information")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return fmt.Errorf("must not contain a query or fragment")
	}
	return nil
}

// IsLoopbackHost reports whether host is localhost or a loopback address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
