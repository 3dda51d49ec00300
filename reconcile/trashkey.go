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
// fit.
func ParseKeyTemplate(s string) (KeyTemplate, error) {
	if !strings.Contains(s, "{id}") {
		return KeyTemplate{}, fmt.Errorf("trash key template %q must contain {id}, so that two rows with the same key never share a trash key", s)
	}
	for _, p := range placeholder.FindAllString(s, -1) {
		switch p {
		case "{id}", "{bucket}", "{key}":
		default:
			return KeyTemplate{}, fmt.Errorf("trash key template %q: unknown placeholder %s (allowed: {id}, {bucket}, {key})", s, p)
		}
	}
	if strings.HasPrefix(s, "/") {
		return KeyTemplate{}, fmt.Errorf("trash key template %q must not start with /", s)
	}
	for i, seg := range strings.Split(s, "/") {
		switch seg {
		case "":
			return KeyTemplate{}, fmt.Errorf("trash key template %q has an empty path segment (segment %d: a doubled or trailing /); write each / between two names", s, i+1)
		case ".", "..":
			return KeyTemplate{}, fmt.Errorf("trash key template %q has a %q path segment; use a name", s, seg)
		}
	}
	worst := len(placeholder.ReplaceAllString(s, "")) +
		maxIDLen*strings.Count(s, "{id}") + maxBucketLen*strings.Count(s, "{bucket}") + hashedKeyLen*strings.Count(s, "{key}")
	if worst > MaxKeyLen {
		return KeyTemplate{}, fmt.Errorf("trash key template %q can render keys of %d bytes even with {key} hashed, over S3's %d; shorten its text", s, worst, MaxKeyLen)
	}
	return KeyTemplate{raw: s}, nil
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
