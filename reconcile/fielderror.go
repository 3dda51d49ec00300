package reconcile

import (
	"errors"
	"fmt"
	"regexp"
)

// FieldError is one problem with one option field, so that a caller that
// fills options from its own settings (cmd's environment variables) can name
// the setting instead of the field. Validate methods in reconcile, db and
// s3ops return their problems as FieldErrors joined with errors.Join.
type FieldError struct {
	// Field is the option's field, dotted below the struct that was
	// validated: "Lease", "Archive.Rule.TransitionDays", "Mass.Share".
	Field string
	// Problem says what is wrong and what is allowed, without the field's
	// name. Other fields it mentions are written {{Field}}, relative to the
	// same struct, so that a caller can name them its own way too.
	Problem string
}

// fieldRef is a {{Field}} reference in a Problem: doubled braces, so that a
// quoted value such as a key template is never taken for one.
var fieldRef = regexp.MustCompile(`\{\{([A-Z][A-Za-z0-9.]*)\}\}`)

func (e *FieldError) Error() string {
	return e.Field + " " + e.Text(func(f string) string { return f })
}

// Text is the Problem with each {{Field}} reference replaced by name(field),
// the field given by its full dotted path.
func (e *FieldError) Text(name func(field string) string) string {
	return fieldRef.ReplaceAllStringFunc(e.Problem, func(ref string) string {
		return name(fieldRef.FindStringSubmatch(ref)[1])
	})
}

// fieldErr is a FieldError with a Problem formatted like fmt.Sprintf.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// FieldErrors returns every FieldError in err (a joined or wrapped error
// from a Validate method). Errors that are not FieldErrors are left out.
func FieldErrors(err error) []*FieldError {
	switch x := err.(type) {
	case nil:
		return nil
	case *FieldError:
		return []*FieldError{x}
	case interface{ Unwrap() []error }:
		var out []*FieldError
		for _, e := range x.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return FieldErrors(x.Unwrap())
	}
	return nil
}

// WithFieldPrefix puts every FieldError in err, and the {{Field}} references in
// their problems, under prefix ("Archive", "Rule"): a struct's Validate uses
// it for the problems of the structs it holds. Other errors pass unchanged.
func WithFieldPrefix(prefix string, err error) error {
	var out []error
	for _, e := range flatten(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			out = append(out, e)
			continue
		}
		out = append(out, &FieldError{
			Field:   prefix + "." + fe.Field,
			Problem: fieldRef.ReplaceAllString(fe.Problem, "{{"+prefix+".$1}}"),
		})
	}
	return errors.Join(out...)
}

// flatten splits joined errors into their parts, recursively.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
