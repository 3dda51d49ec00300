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

// ParseKeyTemplate checks a template.
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
