package azuresim

import "testing"

func TestConditionEval(t *testing.T) {
	const (
		read  = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
		write = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	)
	attrs := func(path string) map[string]string {
		m := map[string]string{AttrContainerName: "exports", AttrAccountName: "stexports"}
		if path != "" {
			m[AttrBlobPath] = path
		}
		return m
	}
	cases := []struct {
		cond, action, subOp, path string
		want                      bool
	}{
		{pathCond, write, "", "2026/12/a.csv", true},
		{pathCond, write, "", "2026/11/a.csv", false},
		{pathCond, read, "", "anything", true}, // reads are not constrained by this form
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '2026/'", read, "Blob.List", "", false},
		{"(!(ActionMatches{'" + read + "'} AND SubOperationMatches{'Blob.List'})) && @Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'exports'", read, "", "x", true},
		{"!(ActionMatches{'" + read + "'} AND SubOperationMatches{'Blob.List'}) || @Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'other'", read, "Blob.List", "", false},
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'a/*/c.txt'", write, "", "a/b/c.txt", true},
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringNotLike 'a/*'", write, "", "a/b", false},
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringEqualsIgnoreCase {'X', 'Y'}", write, "", "y", true},
		{"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'it''s/'", write, "", "it's/x", true},
		{"ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'}", write, "", "", true},
	}
	for i, c := range cases {
		got, err := evalCondition(c.cond, c.action, c.subOp, attrs(c.path))
		if err != nil || got != c.want {
			t.Errorf("case %d: got %v, %v; want %v", i, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "(", "@Resource[x] StringFoo 'a'", "ActionMatches 'a'", "@Resource[x] StringEquals 'a' AND", "'a'"} {
		if _, err := parseCondition(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
