package service

import (
	"strings"
	"unicode"
)

// promRefs is what one PromQL expression names: the series it selects and
// the labels it groups or matches by. It is read by a small scanner, not a
// PromQL parser (Prometheus's would pull the whole server into go.mod), which
// is enough for the expressions of ops/: it skips string literals outside
// selectors, durations and [ranges], and knows which keywords take a label
// list.
type promRefs struct {
	selectors []promSelector
	grouping  []string // labels of by, without, on, ignoring, group_left and group_right
}

type promSelector struct {
	name     string
	matchers []promMatcher
}

type promMatcher struct{ label, op, value string }

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

func parsePromRefs(expr string) promRefs {
	var refs promRefs
	s := []rune(expr)
	i := 0
	skipSpace := func() {
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
		case c == '[':
			for i < len(s) && s[i] != ']' {
				i++
			}
			i++
		case unicode.IsDigit(c):
			// A number or a duration (6h, 0.99, 1e3).
			for i < len(s) && (unicode.IsLetter(s[i]) || unicode.IsDigit(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			ident := string(s[start:i])
			skipSpace()
			switch {
			case labelListKeywords[ident] && i < len(s) && s[i] == '(':
				end := indexFrom(s, i, ')')
				for _, l := range strings.Split(string(s[i+1:end]), ",") {
					if l = strings.TrimSpace(l); l != "" {
						refs.grouping = append(refs.grouping, l)
					}
				}
				i = end + 1
			case i < len(s) && s[i] == '{':
				end := selectorEnd(s, i)
				refs.selectors = append(refs.selectors, promSelector{ident, parseMatchers(string(s[i+1 : end]))})
				i = end + 1
			case i < len(s) && s[i] == '(':
				// A function or an aggregation: not a series.
			default:
				refs.selectors = append(refs.selectors, promSelector{name: ident})
			}
		default:
			i++
		}
	}
	return refs
}

func isIdentStart(c rune) bool { return c == '_' || c == ':' || unicode.IsLetter(c) }
func isIdentPart(c rune) bool  { return isIdentStart(c) || unicode.IsDigit(c) }

func skipString(s []rune, i int) int {
	q := s[i]
	for i++; i < len(s) && s[i] != q; i++ {
		if s[i] == '\\' && q != '`' {
			i++
		}
	}
	return i + 1
}

func indexFrom(s []rune, i int, c rune) int {
	for ; i < len(s) && s[i] != c; i++ {
	}
	return i
}

// selectorEnd is the index of the brace that closes the selector opened at i,
// past any brace inside a quoted value.
func selectorEnd(s []rune, i int) int {
	for i++; i < len(s) && s[i] != '}'; {
		if s[i] == '"' || s[i] == '\'' || s[i] == '`' {
			i = skipString(s, i)
			continue
		}
		i++
	}
	return i
}

// parseMatchers reads `a="x", b=~"y|z", c!="w"`.
func parseMatchers(body string) []promMatcher {
	var out []promMatcher
	s := []rune(body)
	for i := 0; i < len(s); {
		for i < len(s) && (unicode.IsSpace(s[i]) || s[i] == ',') {
			i++
		}
		start := i
		for i < len(s) && isIdentPart(s[i]) {
			i++
		}
		label := string(s[start:i])
		opStart := i
		for i < len(s) && strings.ContainsRune("=!~", s[i]) {
			i++
		}
		op := string(s[opStart:i])
		if label == "" || op == "" || i >= len(s) {
			break
		}
		end := skipString(s, i)
		out = append(out, promMatcher{label, op, string(s[i+1 : end-1])})
		i = end
	}
	return out
}
