package db

import (
	"fmt"
	"slices"
	"strings"
)

// typeText is the column's type as a CREATE TABLE would write it: the type
// in capitals, an ENUM's values as they are ("ENUM('0','1')", "BIGINT(20)
// UNSIGNED"; MySQL 8 leaves out an integer's display width).
func (c column) typeText() string {
	full := c.full
	if full == "" {
		full = c.typ
	}
	open, end := strings.IndexByte(full, '('), strings.LastIndexByte(full, ')')
	if open < 0 || end < open {
		return strings.ToUpper(full)
	}
	return strings.ToUpper(full[:open]) + full[open:end+1] + strings.ToUpper(full[end+1:])
}

// enumValues are the values of an ENUM column, from its COLUMN_TYPE, such
// as enum('0','1'), in which a quote within a value is written twice.
func (c column) enumValues() []string {
	if c.typ != "enum" {
		return nil
	}
	const prefix = "enum("
	if len(c.full) < len(prefix) || !strings.EqualFold(c.full[:len(prefix)], prefix) {
		return nil
	}
	s := c.full[len(prefix):]
	var out []string
	for {
		s = strings.TrimLeft(s, ", ")
		if !strings.HasPrefix(s, "'") {
			return out
		}
		var v strings.Builder
		i := 1
		for ; i < len(s); i++ {
			if s[i] != '\'' {
				v.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				v.WriteByte('\'')
				i++
				continue
			}
			break
		}
		out = append(out, v.String())
		if i >= len(s) {
			return out
		}
		s = s[i+1:]
	}
}

// Values that an ENUM of two uses for yes and no.
var (
	yesValues = []string{"1", "y", "yes", "t", "true", "on"}
	noValues  = []string{"0", "n", "no", "f", "false", "off"}
)

// otherKind says which TrashKind fits column c when TrashKind "flag" does
// not: a sentence to append to the refusal, or "".
func otherKind(c column) string {
	switch {
	case c.typ == "enum":
		const why = `; an ENUM compared with 0 is compared by its position in the list (1 for its first value), so every row would look trashed`
		values := c.enumValues()
		if yes, ok := enumYes(values); ok {
			return fmt.Sprintf(`%s: use TrashKind "value" with the value that means trashed: TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=%s`, why, yes)
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = "'" + v + "'"
		}
		return fmt.Sprintf(`%s: use TrashKind "value" with those of its values (%s) that mean trashed: TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=<the values, comma-separated>`,
			why, strings.Join(quoted, ", "))
	case slices.Contains(stringTypes, c.typ):
		return `; for a column of text, use TrashKind "value" with the values that mean trashed: TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=<the values, comma-separated>`
	case slices.Contains(timestampTypes, c.typ):
		return `; for a date and time set when a row is trashed, use TrashKind "timestamp": TRASHD_LMS_TRASH_KIND=timestamp`
	}
	return ""
}

// enumYes is the value of a two-valued yes/no ENUM ('0','1'; 'N','Y';
// 'no','yes') that means yes, and whether values is such an ENUM.
func enumYes(values []string) (string, bool) {
	if len(values) != 2 {
		return "", false
	}
	is := func(set []string, v string) bool {
		return slices.ContainsFunc(set, func(s string) bool { return strings.EqualFold(s, v) })
	}
	for i, v := range values {
		other := values[1-i]
		if is(yesValues, v) && is(noValues, other) && trashValue.MatchString(v) {
			return v, true
		}
	}
	return "", false
}
