package intent

import (
	"errors"
	"fmt"
	"strings"
)

// MaxTaskLength bounds task names, which end up in credential names, session tags and
// audit lines.
const MaxTaskLength = 128

// ValidateTask checks a task name: 1..128 characters of [A-Za-z0-9._:@/+-].
func ValidateTask(task string) error { return checkTaskText(task, false) }

// ValidateTaskGlob checks an allowed_tasks entry: a task name that may also hold '*'.
func ValidateTaskGlob(glob string) error { return checkTaskText(glob, true) }

func checkTaskText(s string, glob bool) error {
	if s == "" {
		return errors.New("is empty")
	}
	if len(s) > MaxTaskLength {
		return fmt.Errorf("is %d characters long; at most %d are allowed", len(s), MaxTaskLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("._:@/+-", c) >= 0 || (glob && c == '*') {
			continue
		}
		return fmt.Errorf("%s contains %s; allowed are letters, digits and ._:@/+-", quote(s), quote(string(c)))
	}
	return nil
}

// taskGlobMatch reports whether task matches glob, where '*' is any run of characters.
// Tasks are names, not paths, so '*' crosses '/' and ':' here.
func taskGlobMatch(glob, task string) bool {
	if strings.IndexByte(glob, '*') < 0 {
		return glob == task
	}
	// Classic two-pointer wildcard match: linear in practice, no allocation.
	gi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(task) {
		switch {
		case gi < len(glob) && glob[gi] == '*':
			star, mark = gi, ti
			gi++
		case gi < len(glob) && glob[gi] == task[ti]:
			gi++
			ti++
		case star >= 0:
			mark++
			gi, ti = star+1, mark
		default:
			return false
		}
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}
