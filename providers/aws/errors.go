package aws

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

var errNotConfigured = providers.ErrNotConfigured

// AWSError is a failed AWS call, described without secrets: the operation, AWS's error
// code and message. It wraps the SDK error.
type AWSError struct {
	Op      string
	Code    string
	Message string
	Err     error
}

func (e *AWSError) Error() string {
	var b strings.Builder
	b.WriteString("aws: ")
	b.WriteString(e.Op)
	b.WriteString(" failed")
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if hint := hintFor(e.Code); hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *AWSError) Unwrap() error { return e.Err }

func hintFor(code string) string {
	switch code {
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException":
		return "the engine's root credentials in config/aws are not valid"
	case "ExpiredToken", "ExpiredTokenException":
		return "the engine's root session has expired"
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
		return "AWS kept throttling after the configured retries; try again later or raise max_retries"
	case "AccessDenied", "AccessDeniedException":
		return "check the root identity's IAM permissions and the role's trust policy"
	}
	return ""
}

// apiCode returns AWS's error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isCode(err error, codes ...string) bool {
	c := apiCode(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

func isNoSuchEntity(err error) bool { return isCode(err, "NoSuchEntity", "NoSuchEntityException") }

// describe turns an SDK error into an *AWSError (or passes context errors through).
func describe(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		op := "call"
		var oe *smithy.OperationError
		if errors.As(err, &oe) {
			op = oe.Service() + " " + oe.Operation()
		}
		return &AWSError{Op: op, Code: ae.ErrorCode(), Message: ae.ErrorMessage(), Err: err}
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return &AWSError{Op: "call", Message: fmt.Sprintf("gave up after %d attempts: %v", me.Attempt, me.Err), Err: err}
	}
	return err
}

// wrap describes err for operation op.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	d := describe(err)
	var ae *AWSError
	if errors.As(d, &ae) {
		ae.Op = op
		return ae
	}
	return fmt.Errorf("aws: %s failed: %w", op, err)
}
