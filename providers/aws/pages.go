package aws

// eachIAMPage walks the pages of an IAM list call. list fetches the page at a marker and
// returns its items and the next page's marker (nil on the last page); each is called
// for every item, and the first error from either stops the walk.
func eachIAMPage[T any](list func(marker *string) ([]T, *string, error), each func(T) error) error {
	var marker *string
	for {
		items, next, err := list(marker)
		if err != nil {
			return err
		}
		for _, item := range items {
			if err := each(item); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		marker = next
	}
}

// nextMarker is the marker of the page after this one, or nil when IAM says there is none.
func nextMarker(truncated bool, marker *string) *string {
	if !truncated {
		return nil
	}
	return marker
}
