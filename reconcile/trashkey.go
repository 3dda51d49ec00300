package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxKeyLen is S3's limit on an object key, in bytes of UTF-8.
const MaxKeyLen = 1024

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// KeyTemplate renders the trash key of a record. Placeholders: {id} (the LMS
// row id), {bucket} (the source bucket) and {key} (the source key). {id} is
// required: two LMS rows may name the same key, and their trash copies must
// never collide.
type KeyTemplate struct {
	raw string
}

// DefaultKeyTemplate keeps the source key readable under the row id.
const DefaultKeyTemplate = "{id}/{key}"

// Longest renderings of the placeholders, for the worst case of a template:
// an int64 id, an S3 bucket name, and a key in its hashed form (Render).
const (
	maxIDLen     = 20 // -9223372036854775808
	maxBucketLen = 63
	hashedKeyLen = len("sha256-") + 2*sha256.Size
)

// ParseKeyTemplate checks a template: {id} is required, the only
// placeholders are {id}, {bucket} and {key}, and its own text has no empty,
// "." or ".." path segment (a leading or doubled "/", a trailing "/"), which
// S3 keeps as written but which tools and the console treat as paths. A key
// of any length fits: Render hashes {key} when the result would pass S3's
// 1,024 bytes, so a template is refused only when even that form could not
// fit. The rendered id must be delimited (idDelimited), so that no two rows,
// and no two lives of one row, ever render the same key.
func ParseKeyTemplate(s string) (KeyTemplate, error) {
	if err := checkKeyTemplate(s); err != nil {
		return KeyTemplate{}, err
	}
	if !idDelimited(s) {
		return KeyTemplate{}, fmt.Errorf("trash key template %q does not delimit {id}, so two rows can get one trash key "+
			"(under {id}{key}, row 1 with key 01/x.txt and row 10 with key 1/x.txt both render 101/x.txt): "+
			"put right after {id} a character no id contains (such as / - or _; not a digit, nor the . that a later life adds, as in 42.1) with no {key} before {id}, "+
			"or right before {id} (such as / or _) with no {key} after it; for example %q", s, delimitedExample(s))
	}
	return KeyTemplate{raw: s}, nil
}

// checkKeyTemplate is ParseKeyTemplate without the check of {id}'s
// delimiters.
func checkKeyTemplate(s string) error {
	if !strings.Contains(s, "{id}") {
		return fmt.Errorf("trash key template %q must contain {id}, so that two rows with the same key never share a trash key", s)
	}
	for _, p := range placeholder.FindAllString(s, -1) {
		switch p {
		case "{id}", "{bucket}", "{key}":
		default:
			return fmt.Errorf("trash key template %q: unknown placeholder %s (allowed: {id}, {bucket}, {key})", s, p)
		}
	}
	if strings.HasPrefix(s, "/") {
		return fmt.Errorf("trash key template %q must not start with /", s)
	}
	for i, seg := range strings.Split(s, "/") {
		switch seg {
		case "":
			return fmt.Errorf("trash key template %q has an empty path segment (segment %d: a doubled or trailing /); write each / between two names", s, i+1)
		case ".", "..":
			return fmt.Errorf("trash key template %q has a %q path segment; use a name", s, seg)
		}
	}
	worst := len(placeholder.ReplaceAllString(s, "")) +
		maxIDLen*strings.Count(s, "{id}") + maxBucketLen*strings.Count(s, "{bucket}") + hashedKeyLen*strings.Count(s, "{key}")
	if worst > MaxKeyLen {
		return fmt.Errorf("trash key template %q can render keys of %d bytes even with {key} hashed, over S3's %d; shorten its text", s, worst, MaxKeyLen)
	}
	return nil
}

// idDelimited reports whether every key t renders tells which row and life
// it belongs to. The rendered id is digits, with a leading "-" when
// negative and ".N" in a later life (RenderLife), and {key} and {bucket}
// can hold digits, "-" and "." too: "{id}{key}" renders row 1's "01/x.txt"
// and row 10's "1/x.txt" as the same "101/x.txt", and "{id}.{key}" row 42's
// second life of "x" as its first of "1.x". The id can be read off the key
// from its start when nothing before it varies but a {bucket} ended by "/"
// (no bucket name holds one) and it ends the template or is followed by a
// character that cannot continue it; or, the same way, from the key's end.
func idDelimited(s string) bool {
	first, last := strings.Index(s, "{id}"), strings.LastIndex(s, "{id}")
	return readableFromStart(s[:first], s[first+len("{id}"):]) || readableFromEnd(s[:last], s[last+len("{id}"):])
}

// readableFromStart: before {id} only literal text and {bucket}s ended by
// "/"; right after it, the end or a literal that is neither a digit nor the
// "." of a later life ("-" can only begin an id).
func readableFromStart(before, after string) bool {
	for _, loc := range placeholder.FindAllStringIndex(before, -1) {
		if before[loc[0]:loc[1]] != "{bucket}" || !strings.HasPrefix(before[loc[1]:], "/") {
			return false
		}
	}
	if after == "" {
		return true
	}
	if loc := placeholder.FindStringIndex(after); loc != nil && loc[0] == 0 {
		return false
	}
	return !strings.ContainsRune("0123456789.", rune(after[0]))
}

// readableFromEnd: after {id} only literal text and {bucket}s that "/"
// begins; right before it, the start or a literal that no rendered id holds
// (not a digit, "." or "-").
func readableFromEnd(before, after string) bool {
	for _, loc := range placeholder.FindAllStringIndex(after, -1) {
		if after[loc[0]:loc[1]] != "{bucket}" || !strings.HasSuffix(after[:loc[0]], "/") {
			return false
		}
	}
	if before == "" {
		return true
	}
	if loc := placeholder.FindAllStringIndex(before, -1); len(loc) > 0 && loc[len(loc)-1][1] == len(before) {
		return false
	}
	return !strings.ContainsRune("0123456789.-", rune(before[len(before)-1]))
}

// delimitedExample is a template close to s that ParseKeyTemplate accepts,
// for the message that refuses s.
func delimitedExample(s string) string {
	for _, c := range []string{
		strings.Replace(s, "{id}.", "{id}/", 1),
		strings.Replace(s, "{id}", "{id}/", 1),
		replaceLast(replaceLast(s, ".{id}", "/{id}"), "-{id}", "/{id}"),
		replaceLast(s, "{id}", "/{id}"),
	} {
		if c != s && checkKeyTemplate(c) == nil && idDelimited(c) {
			return c
		}
	}
	return DefaultKeyTemplate
}

func replaceLast(s, old, new string) string {
	i := strings.LastIndex(s, old)
	if i < 0 {
		return s
	}
	return s[:i] + new + s[i+len(old):]
}

// String returns the template as configured.
func (t KeyTemplate) String() string { return t.raw }

// Render returns the trash key for LMS row id whose object is bucket/key.
// When the result would exceed S3's 1,024-byte limit (a long source key under
// a prefix), {key} is replaced by "sha256-" and the key's hex SHA-256, which is
// still deterministic; the full source key stays in trashd's record.
func (t KeyTemplate) Render(id int64, bucket, key string) string {
	return t.RenderLife(id, 0, bucket, key)
}

// RenderLife renders the trash key of a row's life-th time in the trash (0
// the first): later lives put ".life" after the id ("42.1/…"), so that a
// copy an earlier life left for another record of the same object is never
// the key a new copy is written to.
func (t KeyTemplate) RenderLife(id int64, life int, bucket, key string) string {
	ids := strconv.FormatInt(id, 10)
	if life > 0 {
		ids += "." + strconv.Itoa(life)
	}
	tmpl := t.raw
	if tmpl == "" {
		tmpl = DefaultKeyTemplate
	}
	r := strings.NewReplacer("{id}", ids, "{bucket}", bucket, "{key}", key)
	out := r.Replace(tmpl)
	if len(out) <= MaxKeyLen {
		return out
	}
	sum := sha256.Sum256([]byte(key))
	r = strings.NewReplacer("{id}", ids, "{bucket}", bucket, "{key}", "sha256-"+hex.EncodeToString(sum[:]))
	return r.Replace(tmpl)
}

// CanStartWith reports whether some key t renders starts with prefix, so
// that a lifecycle rule filtered on prefix can match trash copies. It
// reasons over the template's literal text and what each placeholder can
// render: {id} a row id ("-" or a digit, then digits and the "." of a later
// life), {bucket} a bucket name (lower-case letters, digits, "." and "-"),
// {key} anything, so that once {key} is reached every rest of the prefix
// fits.
func (t KeyTemplate) CanStartWith(prefix string) bool {
	tmpl := t.raw
	if tmpl == "" {
		tmpl = DefaultKeyTemplate
	}
	type part struct {
		lit  string // literal text, or "" for a placeholder
		name string // the placeholder: "{id}", "{bucket}" or "{key}"
	}
	var parts []part
	rest := tmpl
	for rest != "" {
		loc := placeholder.FindStringIndex(rest)
		if loc == nil {
			parts = append(parts, part{lit: rest})
			break
		}
		if loc[0] > 0 {
			parts = append(parts, part{lit: rest[:loc[0]]})
		}
		parts = append(parts, part{name: rest[loc[0]:loc[1]]})
		rest = rest[loc[1]:]
	}
	// fits reports whether c can be the n-th character (from 0) a
	// placeholder renders.
	fits := func(name string, n int, c byte) bool {
		digit := c >= '0' && c <= '9'
		switch name {
		case "{id}":
			return digit || (n == 0 && c == '-') || (n > 0 && c == '.')
		case "{bucket}":
			return digit || (c >= 'a' && c <= 'z') || (n > 0 && (c == '.' || c == '-'))
		}
		return true
	}
	// A state is a position in the template: a part, and how far into it
	// the prefix has gone (characters of a literal, or of a placeholder's
	// rendering, capped at 1: what matters is only whether it rendered
	// any).
	type state struct{ part, at int }
	// closure adds the states reached without reading a character: past
	// a finished literal, past a placeholder that rendered something.
	closure := func(states map[state]bool) {
		for changed := true; changed; {
			changed = false
			for s := range states {
				if s.part >= len(parts) {
					continue
				}
				p := parts[s.part]
				if (p.name == "" && s.at == len(p.lit)) || (p.name != "" && s.at > 0) {
					if next := (state{s.part + 1, 0}); !states[next] {
						states[next], changed = true, true
					}
				}
			}
		}
	}
	states := map[state]bool{{0, 0}: true}
	closure(states)
	for i := 0; i < len(prefix); i++ {
		next := map[state]bool{}
		for s := range states {
			if s.part >= len(parts) {
				continue // the key has ended
			}
			p := parts[s.part]
			switch {
			case p.name == "{key}":
				return true // {key} renders whatever the prefix still needs
			case p.name != "":
				if fits(p.name, s.at, prefix[i]) {
					next[state{s.part, 1}] = true
				}
			case s.at < len(p.lit) && p.lit[s.at] == prefix[i]:
				next[state{s.part, s.at + 1}] = true
			}
		}
		if len(next) == 0 {
			return false
		}
		closure(next)
		states = next
	}
	return true
}
