package main

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes, documented in the README.
const (
	codeOK      = 0
	codeFailure = 1 // the command could not do its work (database, S3, a pass that could not run)
	codeUsage   = 2 // bad usage or configuration
	codeObjects = 3 // the command ran, and found objects that need attention (failed, missing, retrying, drift)
)

// exitError is an error that calls for a given exit code. Commands return
// errors; run is the one place that prints them and turns them into codes.
type exitError struct {
	code int
	err  error // nil: nothing more to say (the command printed its result)
	// usage, when set, is printed after the error: the command's synopsis
	// and flags, for an error in how it was called.
	usage     string
	needUsage bool // dispatch fills usage in with the command's
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode gives err the exit code code; a nil err stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErr is a mistake in how a command was called (code 2).
func usageErr(format string, args ...any) error {
	return &exitError{code: codeUsage, err: fmt.Errorf(format, args...)}
}

// configErr is a configuration that cannot work (code 2).
func configErr(err error) error { return withCode(codeUsage, err) }

// objectsErr says that the command did its work and found objects that need
// attention (code 3); err says which and what to do.
func objectsErr(format string, args ...any) error {
	return &exitError{code: codeObjects, err: fmt.Errorf(format, args...)}
}

// exitCode prints err (when there is anything to say) and returns its exit
// code: 0 for nil, the code of an exitError, else 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return codeOK
	}
	code := codeFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "trashd: %s\n", escapeText(err.Error()))
	if ee != nil && ee.usage != "" {
		fmt.Fprintf(stderr, "\n%s", ee.usage)
	}
	return code
}
