package service

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"trashd/internal/testworld"
)

type alertRule struct{ name, expr, description, runbook string }

var (
	alertLine = regexp.MustCompile(`^\s*- alert:\s*(\S+)\s*$`)
	fieldLine = regexp.MustCompile(`^(\s*)(expr|description|runbook_url):\s*(.*)$`)
)

// readAlerts reads the rules of alerts.yml with as much YAML as the file
// uses (go.mod has no YAML parser): `- alert:` starts a rule; expr is on its
// line or a block (`|`) of the lines indented below it; description and
// runbook_url are on their line, quoted or not.
func readAlerts(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	testworld.Must(t, err)
	lines := strings.Split(string(raw), "\n")
	var rules []alertRule
	for i := 0; i < len(lines); i++ {
		if m := alertLine.FindStringSubmatch(lines[i]); m != nil {
			rules = append(rules, alertRule{name: m[1]})
			continue
		}
		m := fieldLine.FindStringSubmatch(lines[i])
		if m == nil || len(rules) == 0 {
			continue
		}
		r := &rules[len(rules)-1]
		value := yamlScalar(t, m[3])
		if m[2] == "expr" && strings.HasPrefix(m[3], "|") {
			var block []string
			for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indent(lines[i+1]) > len(m[1])) {
				i++
				block = append(block, strings.TrimSpace(lines[i]))
			}
			value = strings.TrimSpace(strings.Join(block, "\n"))
		}
		switch m[2] {
		case "expr":
			r.expr = value
		case "description":
			r.description = value
		case "runbook_url":
			r.runbook = value
		}
	}
	for _, r := range rules {
		if r.expr == "" {
			t.Errorf("%s: alert %s has no expr that this reader understands", alertsFile, r.name)
		}
	}
	return rules
}

func indent(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// yamlScalar unquotes a one-line YAML scalar. Double-quoted YAML uses the
// escapes Go's strconv knows for what alerts.yml holds (\" and \\).
func yamlScalar(t *testing.T, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, `"`):
		u, err := strconv.Unquote(s)
		if err != nil {
			t.Errorf("%s: cannot read the quoted value %s: %v", alertsFile, s, err)
		}
		return u
	case strings.HasPrefix(s, `'`):
		return strings.ReplaceAll(strings.Trim(s, `'`), `''`, `'`)
	}
	return s
}

// runbookAnchors are the anchors, as GitHub renders them, of the sections
// under docs/operations.md's "## Runbook".
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(operationsFile)
	testworld.Must(t, err)
	anchors := map[string]bool{}
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(line) == "## Runbook"
		case in && strings.HasPrefix(line, "### "):
			anchors[githubAnchor(strings.TrimPrefix(line, "### "))] = true
		}
	}
	if len(anchors) == 0 {
		t.Fatalf("%s has no section under \"## Runbook\"", operationsFile)
	}
	return anchors
}

// githubAnchor is the id GitHub gives a heading: lower case, spaces as
// hyphens, punctuation other than hyphens and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}
