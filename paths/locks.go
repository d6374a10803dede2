package paths

import (
	"sort"
	"strings"

	"github.com/hashicorp/vault/sdk/helper/locksutil"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// roleLock serialises writes and issuance per role on this node, so a quota check and the
// record it admits cannot interleave with another issuance (issuance is forwarded to the
// active node, so one node's lock is enough).
func (d *Deps) roleLock(role string) *locksutil.LockEntry {
	return locksutil.LockForKey(d.roleLocks, role)
}

func providerNames(ps map[string]providers.Provider) string {
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
