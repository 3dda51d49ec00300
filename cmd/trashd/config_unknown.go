package main

import (
	"fmt"
	"slices"
	"strings"
)

// unknownVariable is a TRASHD_ variable that trashd does not read, most
// likely a misspelling, with the known name closest to it.
type unknownVariable struct {
	Name    string
	Closest string // "" when no known name is close
}

func (u unknownVariable) String() string {
	if why, ok := removedVariables[u.Name]; ok {
		return fmt.Sprintf("%s is set but is no longer a trashd variable (it is ignored; unset it): %s", u.Name, why)
	}
	if u.Closest != "" {
		return fmt.Sprintf("%s is set but is not a trashd variable: did you mean %s? (it is ignored; rename or unset it)", u.Name, u.Closest)
	}
	return fmt.Sprintf("%s is set but is not a trashd variable (it is ignored; see `trashd config` for the variables, and unset it)", u.Name)
}

// removedVariables are variables that declared a server feature, which
// trashd now probes per bucket instead: say so, and what replaced them.
var removedVariables = map[string]string{
	"TRASHD_S3_IF_NONE_MATCH": "trashd probes each bucket for If-None-Match on copies and HEADs the destination first where it is not proven; " +
		"to forbid relying on it anyway, set TRASHD_S3_FORBID=copy_if_none_match,complete_if_none_match",
	"TRASHD_CONDITIONAL_DELETE": "trashd probes each bucket for If-Match on DeleteObject and the per-object ETag of DeleteObjects; " +
		"to forbid relying on them, set TRASHD_S3_FORBID=delete_if_match,batch_delete_etag; to delete sources of an unversioned bucket " +
		"without a proven condition, set TRASHD_S3_DELETE_AFTER_HEAD=true",
}

// toolPrefixes and toolVariables are TRASHD_ variables of the project's
// scripts and test helpers (dev-up, the Glacier emulation, the tests), not
// of trashd itself: they are never reported.
var (
	toolPrefixes  = []string{"TRASHD_TEST_", "TRASHD_DEV_", "TRASHD_GLACIER_"}
	toolVariables = []string{"TRASHD_BIN", "TRASHD_CACHE_DIR", "TRASHD_SECURITY_LIMIT"}
)

// unknownVariables lists the TRASHD_ variables in environ (os.Environ's
// form) that are not in the table of variables, in name order.
func unknownVariables(environ []string) []unknownVariable {
	var known []string
	for _, v := range variables() {
		known = append(known, v.Name)
	}
	var out []unknownVariable
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TRASHD_") || slices.Contains(known, name) || slices.Contains(toolVariables, name) ||
			slices.ContainsFunc(toolPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		out = append(out, unknownVariable{Name: name, Closest: closest(name, known)})
	}
	slices.SortFunc(out, func(a, b unknownVariable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// closest is the name in known with the fewest edits from name, if that is
// few enough to be a slip (at most a third of the part after TRASHD_).
func closest(name string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		if d := editDistance(name, k); bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(2, (len(name)-len("TRASHD_"))/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (variable names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
