package main

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, key, text string }{
		{"plain/key.txt", "plain/key.txt", "plain/key.txt"},
		{"a b\\c", "a b\\c", "a b\\c"},
		{"nul\x00key", `"nul\x00key"`, `nul\x00key`},
		{"line\nbreak", `"line\nbreak"`, "line\nbreak"},
		{"cr\rover", `"cr\rover"`, `cr\rover`},
		{"esc\x1b[31mred", `"esc\x1b[31mred"`, `esc\x1b[31mred`},
		{"bidi\u202eevil", `"bidi\u202eevil"`, `bidi\u202eevil`},
		{"bad\xffutf8", `"bad\xffutf8"`, `bad\xffutf8`},
		{"ünïcödé", "ünïcödé", "ünïcödé"},
	} {
		if got := escapeKey(tc.in); got != tc.key {
			t.Errorf("escapeKey(%q) = %s, want %s", tc.in, got, tc.key)
		}
		if got := escapeText(tc.in); got != tc.text {
			t.Errorf("escapeText(%q) = %s, want %s", tc.in, got, tc.text)
		}
		if got, want := escapeLine(tc.in), strings.ReplaceAll(tc.text, "\n", `\n`); got != want {
			t.Errorf("escapeLine(%q) = %s, want %s", tc.in, got, want)
		}
	}
}
