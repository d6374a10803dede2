package aws

import (
	"errors"
	"slices"
	"strconv"
	"testing"
)

func TestEachIAMPage(t *testing.T) {
	pages := [][]string{{"a", "b"}, {"c"}, {"d", "e"}}
	list := func(failAt int) func(*string) ([]string, *string, error) {
		return func(marker *string) ([]string, *string, error) {
			i := 0
			if marker != nil {
				i, _ = strconv.Atoi(*marker)
			}
			if i == failAt {
				return nil, nil, errors.New("list failed")
			}
			next := strconv.Itoa(i + 1)
			return pages[i], nextMarker(i+1 < len(pages), &next), nil
		}
	}
	var seen []string
	collect := func(s string) error { seen = append(seen, s); return nil }

	if err := eachIAMPage(list(-1), collect); err != nil || !slices.Equal(seen, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("walk = %v, %v; want every item of the three pages in order", seen, err)
	}

	seen = nil
	if err := eachIAMPage(list(1), collect); err == nil || !slices.Equal(seen, []string{"a", "b"}) {
		t.Fatalf("list error on page 2: %v, %v; want the error after page 1's items", seen, err)
	}

	seen = nil
	stop := errors.New("each failed")
	err := eachIAMPage(list(-1), func(s string) error {
		seen = append(seen, s)
		if s == "c" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []string{"a", "b", "c"}) {
		t.Fatalf("each error at c: %v, %v; want the walk to stop there", seen, err)
	}
}
