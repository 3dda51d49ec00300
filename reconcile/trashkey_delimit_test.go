package reconcile_test

import (
	"strings"
	"testing"

	"trashd/reconcile"
)

// A template is accepted only when the rendered id can be read off every
// trash key it renders; an accepted one never gives two rows, or two lives
// of one row, the same key, however their keys and buckets are spelled.
func TestKeyTemplateDelimitsID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tmpl    string
		refused bool
		fix     string // the example the refusal gives
	}{
		{tmpl: "{id}/{key}"},
		{tmpl: "{id}-{key}"},
		{tmpl: "{id}_{key}"},
		{tmpl: "{id}"},
		{tmpl: "trash/{id}"},
		{tmpl: "trash/{bucket}/{id}/{key}"},
		{tmpl: "t1{id}/{key}"}, // digits in literal text are fixed
		{tmpl: "{bucket}/{key}/{id}"},
		{tmpl: "{key}/{id}"},
		{tmpl: "{key}_{id}"},
		{tmpl: "{key}/{id}/{bucket}"},
		{tmpl: "{id}/{key}/{id}"},
		{tmpl: "{id}{key}", refused: true, fix: "{id}/{key}"},
		{tmpl: "trash/{id}{key}", refused: true, fix: "trash/{id}/{key}"},
		{tmpl: "{id}.{key}", refused: true, fix: "{id}/{key}"}, // "42.1" is row 42's second life
		{tmpl: "{id}0/{key}", refused: true, fix: "{id}/0/{key}"},
		{tmpl: "{id}{bucket}/{key}", refused: true, fix: "{id}/{bucket}/{key}"},
		{tmpl: "{bucket}{id}/{key}", refused: true, fix: "{bucket}/{id}/{key}"},
		{tmpl: "{bucket}-{id}/{key}", refused: true, fix: "{bucket}/{id}/{key}"}, // bucket names hold "-"
		{tmpl: "{key}{id}", refused: true, fix: "{key}/{id}"},
		{tmpl: "{key}.{id}", refused: true, fix: "{key}/{id}"},
		{tmpl: "{key}-{id}", refused: true, fix: "{key}/{id}"}, // a negative id begins with "-"
		{tmpl: "{key}/{id}{bucket}", refused: true, fix: "{key}/{id}/{bucket}"},
		{tmpl: "{key}/{id}/{key}", refused: true, fix: "{id}/{key}"},
	} {
		tmpl, err := reconcile.ParseKeyTemplate(tc.tmpl)
		switch {
		case tc.refused && err == nil:
			t.Errorf("ParseKeyTemplate(%q) accepted it, want it refused", tc.tmpl)
		case tc.refused && (!strings.Contains(err.Error(), "does not delimit {id}") || !strings.Contains(err.Error(), `"`+tc.fix+`"`)):
			t.Errorf("ParseKeyTemplate(%q) = %v, want a refusal that says why and suggests %q", tc.tmpl, err, tc.fix)
		case tc.refused:
			if _, err := reconcile.ParseKeyTemplate(tc.fix); err != nil {
				t.Errorf("the fix %q suggested for %q is refused too: %v", tc.fix, tc.tmpl, err)
			}
		case err != nil:
			t.Errorf("ParseKeyTemplate(%q) = %v, want it accepted", tc.tmpl, err)
		default:
			wantDistinctKeys(t, tmpl)
		}
	}
}

// wantDistinctKeys renders rows, lives, buckets and keys chosen to collide
// under a template that does not delimit {id}, and fails t if two of them
// that are not the same row and life share a trash key.
func wantDistinctKeys(t *testing.T, tmpl reconcile.KeyTemplate) {
	t.Helper()
	type rowLife struct {
		id   int64
		life int
	}
	ids := []int64{1, 10, 12, 101, 42, 421, -1, -12}
	buckets := []string{"lms", "lms1", "lms-1", "lms.1", "1lms"}
	keys := []string{"x", "1", "01/x.txt", "1/x.txt", "1.x", ".1/x", "-1", "x/1", "x/21", "x.1", "x-1", "x_1", "21", "/x", "lms/x"}
	seen := map[string]rowLife{}
	for _, id := range ids {
		for life := range 3 {
			for _, b := range buckets {
				for _, k := range keys {
					key := tmpl.RenderLife(id, life, b, k)
					if other, ok := seen[key]; ok && other != (rowLife{id, life}) {
						t.Errorf("template %q: row %d life %d and row %d life %d both render %q", tmpl, other.id, other.life, id, life, key)
						return
					}
					seen[key] = rowLife{id, life}
				}
			}
		}
	}
}
