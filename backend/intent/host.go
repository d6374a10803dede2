package intent

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseURLHost accepts host, host:port, [ipv6] and [ipv6]:port. Default ports are
// dropped so https://h and https://h:443 are the same destination.
func parseURLHost(host, scheme string) (string, error) {
	host = strings.ToLower(host)
	var name, port string
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", errors.New("has an unterminated [IPv6] host")
		}
		addr, err := netip.ParseAddr(host[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Errorf("has an invalid IPv6 host %s", quote(host[:end+1]))
		}
		name = "[" + addr.String() + "]"
		rest := host[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", fmt.Errorf("has an invalid host %s", quote(host))
			}
			port = rest[1:]
		}
	} else {
		var hasPort bool
		name, port, hasPort = strings.Cut(host, ":")
		if hasPort && port == "" {
			return "", errors.New("has an empty port")
		}
		if err := checkHostName(name); err != nil {
			return "", err
		}
	}
	if port == "" {
		return name, nil
	}
	if port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
			return "", fmt.Errorf("has an invalid port %s", quote(port))
		}
		if (scheme == schemeHTTPS && n == 443) || (scheme == schemeHTTP && n == 80) {
			return name, nil
		}
		port = strconv.Itoa(n)
	}
	return name + ":" + port, nil
}

// parseNameHost is the host of s3, azure and azure-keyvault: a bucket, storage account or
// vault name without a port.
func parseNameHost(host string) (string, error) {
	host = strings.ToLower(host)
	if err := checkHostName(host); err != nil {
		return "", err
	}
	return host, nil
}

func checkHostName(name string) error {
	if name == "" {
		return errors.New("has an empty host")
	}
	if name == "*" {
		return errors.New("host must not be * alone")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("host %s has an empty label", quote(name))
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isLowerAlnum(c) && c != '-' && c != '_' && c != '*' {
				return fmt.Errorf("host %s contains %s", quote(name), quote(string(c)))
			}
		}
	}
	return nil
}
