package main

import "strings"

// splitValues reads a comma-separated list (TRASHD_LMS_TRASH_VALUES),
// trimming spaces and dropping empty entries: "deleted, purged".
func splitValues(v string) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
