package intent

import (
	"errors"
	"fmt"
	"strings"
)

// parseARN splits arn:partition:service:region:account:resource. Partition and service
// may not hold wildcards: they decide what kind of thing the pattern names at all.
func parseARN(s string) (Pattern, error) {
	fields := strings.SplitN(s, ":", 6)
	if len(fields) != 6 {
		return Pattern{}, errors.New("ARN must have the form arn:partition:service:region:account:resource")
	}
	p := Pattern{scheme: schemeARN, segs: make([]string, 4, 8)}
	for i, name := range [4]string{"partition", "service", "region", "account"} {
		f := strings.ToLower(fields[i+1])
		for j := 0; j < len(f); j++ {
			c := f[j]
			if c == '*' && i >= 2 {
				p.wild = true
				continue
			}
			if !isLowerAlnum(c) && c != '-' {
				return Pattern{}, fmt.Errorf("ARN %s %s contains %s", name, quote(f), quote(string(c)))
			}
		}
		if f == "" && i < 2 {
			return Pattern{}, fmt.Errorf("ARN %s is required", name)
		}
		p.segs[i] = f
	}
	resource := fields[5]
	if resource == "" {
		return Pattern{}, errors.New("ARN resource is required")
	}
	segs := strings.Split(resource, "/")
	account := p.segs[3]
	if segs[0] == "*" && (account == "" || strings.Contains(account, "*")) {
		// With no fixed account this would be every resource of the service everywhere,
		// e.g. arn:aws:s3:::* is every bucket in the partition.
		return Pattern{}, errors.New("ARN resource must not start with * alone unless the account is fixed")
	}
	if err := p.appendPath(segs); err != nil {
		return Pattern{}, err
	}
	var b strings.Builder
	b.WriteString("arn:")
	b.WriteString(strings.Join(p.segs[:4], ":"))
	b.WriteString(":")
	if len(p.segs) > 4 {
		b.WriteString(p.segs[4])
		p.writePath(&b, 5, "/")
	} else {
		b.WriteString("*")
	}
	p.text = b.String()
	return p, nil
}

// parseAzureResource handles ARM ids. ARM compares ids case-insensitively, so the whole id
// is lowercased; otherwise "resourceGroups" and "resourcegroups" would be two resources.
func parseAzureResource(s string) (Pattern, error) {
	s = strings.ToLower(s)
	segs := strings.Split(s[len(azureResourcePrefix):], "/")
	sub := segs[0]
	if sub == "" {
		return Pattern{}, errors.New("Azure resource id needs a subscription id after /subscriptions/")
	}
	if sub == "*" {
		return Pattern{}, errors.New("Azure subscription id must not be * alone")
	}
	for i := 0; i < len(sub); i++ {
		if c := sub[i]; !isLowerAlnum(c) && c != '-' && c != '*' {
			return Pattern{}, fmt.Errorf("Azure subscription id %s contains %s", quote(sub), quote(string(c)))
		}
	}
	p := Pattern{scheme: schemeAzureResource, segs: []string{sub}, wild: strings.Contains(sub, "*")}
	if err := p.appendPath(segs[1:]); err != nil {
		return Pattern{}, err
	}
	var b strings.Builder
	b.WriteString(azureResourcePrefix)
	b.WriteString(sub)
	p.writePath(&b, 1, "/")
	p.text = b.String()
	return p, nil
}
