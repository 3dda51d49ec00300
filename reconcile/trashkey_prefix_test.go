package reconcile_test

import (
	"strings"
	"testing"

	"trashd/reconcile"
)

// A lifecycle prefix is useful only if some trash key starts with it; each
// "yes" is checked against a key the template really renders.
func TestKeyTemplateCanStartWith(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tmpl, prefix string
		want         bool
		example      string // a key the template renders that starts with prefix, for a "yes"
	}{
		{"{id}/{key}", "", true, "42/a.txt"},
		{"{id}/{key}", "trash/", false, ""},
		{"{id}/{key}", "/", false, ""},
		{"{id}/{key}", "4", true, "42/a.txt"},
		{"{id}/{key}", "42/", true, "42/a.txt"},
		{"{id}/{key}", "42/courses/", true, "42/courses/a.txt"}, // {key} renders the rest
		{"{id}/{key}", "-", true, "-7/a.txt"},
		{"{id}/{key}", "42.1/", true, ""}, // a later life
		{"{id}/{key}", "a", false, ""},
		{"{id}/{key}", "4/2/", true, "4/2/a.txt"},
		{"trash/{id}/{key}", "trash/", true, "trash/42/a.txt"},
		{"trash/{id}/{key}", "tr", true, "trash/42/a.txt"},
		{"trash/{id}/{key}", "trash/x", false, ""},
		{"trash/{id}/{key}", "archive/", false, ""},
		{"trash/{id}/{key}", "trash/42/", true, "trash/42/a.txt"},
		{"{bucket}/{id}/{key}", "lms-files/", true, "lms-files/42/a.txt"},
		{"{bucket}/{id}/{key}", "LMS/", false, ""},
		{"{bucket}/{id}/{key}", "lms-files/x", false, ""},
		{"{bucket}/{id}/{key}", "-lms/", false, ""},
		{"{id}", "42", true, "42"},
		{"{id}", "42/", false, ""}, // the key ends after the id
		{"{id}-{key}", "42-", true, "42-a.txt"},
	} {
		t.Run(tc.tmpl+" "+tc.prefix, func(t *testing.T) {
			tmpl, err := reconcile.ParseKeyTemplate(tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := tmpl.CanStartWith(tc.prefix); got != tc.want {
				t.Errorf("%q.CanStartWith(%q) = %v, want %v", tc.tmpl, tc.prefix, got, tc.want)
			}
			if tc.example != "" {
				// The example must be a real rendering: find its id and key.
				var key string
				switch {
				case strings.HasPrefix(tc.tmpl, "{bucket}/"):
					key = tmpl.Render(42, "lms-files", "a.txt")
				case strings.HasPrefix(tc.example, "-7"):
					key = tmpl.Render(-7, "b", "a.txt")
				case strings.HasPrefix(tc.example, "4/2/"):
					key = tmpl.Render(4, "b", "2/a.txt")
				case strings.Contains(tc.example, "courses"):
					key = tmpl.Render(42, "b", "courses/a.txt")
				default:
					key = tmpl.Render(42, "b", "a.txt")
				}
				if key != tc.example || !strings.HasPrefix(key, tc.prefix) {
					t.Errorf("%q renders %q, want %q starting with %q", tc.tmpl, key, tc.example, tc.prefix)
				}
			}
		})
	}
}
