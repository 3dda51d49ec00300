package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// S3 keys (and LMS rows) may hold any byte but NUL-free UTF-8 is all S3
// promises, and an LMS may store worse: a key with a newline, a carriage
// return or an escape sequence would forge lines or recolour a terminal.
// Every human-readable output passes keys through escapeKey and messages
// through escapeText; the JSON outputs need neither (encoding/json escapes
// control characters itself).

// escapeKey returns s as it is when every rune is printable, else quoted
// with Go's escapes (`"a\nb"`), so that an escaped key is told apart from a
// key that merely contains a backslash.
func escapeKey(s string) string {
	if printable(s, false) {
		return s
	}
	return strconv.Quote(s)
}

// escapeText escapes the unprintable runes of a message but keeps its line
// breaks and tabs, which messages use for layout.
func escapeText(s string) string { return escape(s, true) }

// escapeLine escapes every unprintable rune, line breaks too: for a message
// that must stay on its one line (an audit finding, a recorded reason).
func escapeLine(s string) string { return escape(s, false) }

func escape(s string, layout bool) string {
	if printable(s, layout) {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, n := utf8.DecodeRuneInString(s[i:])
		w = n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case (layout && (r == '\n' || r == '\t')) || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r) // '\x00', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

func printable(s string, layout bool) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return false
			}
		}
		if !unicode.IsPrint(r) && !(layout && (r == '\n' || r == '\t')) {
			return false
		}
	}
	return true
}
