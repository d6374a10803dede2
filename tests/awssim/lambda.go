package awssim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Lambda REST-JSON: only CreateFunction (to authorize — and usually deny — escalation
// attempts) plus GetFunction/DeleteFunction for cleanup.

type lambdaFunc struct {
	Name, Arn, Role, Runtime, Handler string
	CodeSha256                        string
	CodeSize                          int
}

var functionNameRe = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)

func (s *Sim) serveLambda(c *call) (writeFn, *APIError) {
	path := c.r.URL.Path
	switch {
	case path == "/2015-03-31/functions" || path == "/2015-03-31/functions/":
		if c.r.Method == http.MethodPost {
			c.op = "CreateFunction"
		}
	case strings.HasPrefix(path, "/2015-03-31/functions/"):
		switch c.r.Method {
		case http.MethodGet:
			c.op = "GetFunction"
		case http.MethodDelete:
			c.op = "DeleteFunction"
		}
	}
	if c.op == "" {
		c.op = "Unsupported"
		return nil, errf(404, "ResourceNotFoundException", "Unsupported Lambda operation %s %s", c.r.Method, path)
	}
	c.eventName = c.op + "20150331"
	return s.run(c, false, func() (writeFn, *APIError) {
		if c.op == "CreateFunction" {
			return s.lambdaCreate(c)
		}
		return s.lambdaGetDelete(c, strings.TrimPrefix(path, "/2015-03-31/functions/"))
	})
}

func (s *Sim) funcArn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.AccountID, name)
}

func (f *lambdaFunc) config() map[string]any {
	return map[string]any{
		"FunctionName": f.Name, "FunctionArn": f.Arn, "Role": f.Role, "Runtime": f.Runtime, "Handler": f.Handler,
		"CodeSha256": f.CodeSha256, "CodeSize": f.CodeSize, "State": "Pending", "StateReasonCode": "Creating",
		"PackageType": "Zip", "Version": "$LATEST", "Timeout": 3, "MemorySize": 128,
	}
}

func jsonOK(c *call, status int, v any) writeFn {
	body, _ := json.Marshal(v)
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-RequestId", c.reqID)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func (s *Sim) lambdaCreate(c *call) (writeFn, *APIError) {
	var in struct {
		FunctionName string
		Role         string
		Runtime      string
		Handler      string
		Code         struct {
			ZipFile  []byte
			S3Bucket string
			S3Key    string
			ImageUri string
		}
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		return nil, errf(400, "InvalidParameterValueException", "Could not parse request body into json")
	}
	c.params["functionName"], c.params["role"], c.params["runtime"], c.params["handler"] = in.FunctionName, in.Role, in.Runtime, in.Handler
	if !functionNameRe.MatchString(in.FunctionName) {
		return nil, errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", in.FunctionName)
	}
	arn := s.funcArn(in.FunctionName)
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::Lambda::Function", name: in.FunctionName})
	if err := s.authorize(c, "lambda:CreateFunction", arn, nil); err != nil {
		return nil, err
	}
	// Passing an execution role requires iam:PassRole on it.
	if err := s.authorize(c, "iam:PassRole", in.Role, map[string][]string{"iam:PassedToService": {"lambda.amazonaws.com"}}); err != nil {
		return nil, errf(403, "AccessDeniedException", "%s", strings.Replace(err.Message, "on resource: ", "on resource: ", 1))
	}
	r := s.roleByArn(in.Role)
	if r == nil {
		return nil, errf(400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
	}
	code := in.Code.ZipFile
	if len(code) == 0 && in.Code.S3Bucket == "" && in.Code.ImageUri == "" {
		return nil, errf(400, "InvalidParameterValueException", "Please provide a source for function code.")
	}
	sum := sha256.Sum256(code)
	f := &lambdaFunc{Name: in.FunctionName, Arn: arn, Role: in.Role, Runtime: in.Runtime, Handler: in.Handler, CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), CodeSize: len(code)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.funcs[f.Name]; ok {
		return nil, errf(409, "ResourceConflictException", "Function already exist: %s", f.Name)
	}
	s.funcs[f.Name] = f
	return jsonOK(c, 201, f.config()), nil
}

func (s *Sim) lambdaGetDelete(c *call, name string) (writeFn, *APIError) {
	if i := strings.LastIndex(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	arn := s.funcArn(name)
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::Lambda::Function", name: name})
	c.params["functionName"] = name
	action := "lambda:" + c.op
	c.readOnly = c.op == "GetFunction"
	if err := s.authorize(c, action, arn, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[name]
	if !ok {
		return nil, errf(404, "ResourceNotFoundException", "Function not found: %s", arn)
	}
	if c.op == "DeleteFunction" {
		delete(s.funcs, name)
		return func(w http.ResponseWriter) {
			w.Header().Set("X-Amzn-RequestId", c.reqID)
			w.WriteHeader(204)
		}, nil
	}
	return jsonOK(c, 200, map[string]any{"Configuration": f.config(), "Code": map[string]any{"RepositoryType": "S3", "Location": "https://example.invalid/" + name}}), nil
}
