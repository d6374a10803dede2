package paths

import "github.com/hashicorp/vault/sdk/framework"

// forwardedOp is an operation that writes storage or calls a cloud: performance standbys
// and secondaries forward it to the node that may do so, so credentials, keys and
// findings are created in one place.
func forwardedOp(cb framework.OperationFunc, summary string) *framework.PathOperation {
	return &framework.PathOperation{
		Callback:                    cb,
		Summary:                     summary,
		ForwardPerformanceStandby:   true,
		ForwardPerformanceSecondary: true,
	}
}
