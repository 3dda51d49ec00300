package main

import (
	"bytes"
	"errors"
	"testing"

	"trashd/reconcile"
)

func TestPassResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		sum  reconcile.Summary
		code int
	}{
		{"all moved", reconcile.Summary{Status: reconcile.RunOK, Counts: reconcile.Counts{Moved: 5, Restored: 1}}, codeOK},
		{"shared stays", reconcile.Summary{Status: reconcile.RunOK, Counts: reconcile.Counts{Moved: 1, Shared: 3}}, codeOK},
		{"failed", reconcile.Summary{Status: reconcile.RunFailed, Counts: reconcile.Counts{Failed: 1}}, codeObjects},
		{"missing", reconcile.Summary{Status: reconcile.RunOK, Counts: reconcile.Counts{Missing: 1}}, codeObjects},
		{"retrying after an outage", reconcile.Summary{Status: reconcile.RunOK, Counts: reconcile.Counts{Moved: 2, Retrying: 105}}, codeObjects},
		{"interrupted", reconcile.Summary{Status: reconcile.RunInterrupted}, codeFailure},
		{"error", reconcile.Summary{Status: reconcile.RunError, Counts: reconcile.Counts{Failed: 2}}, codeFailure},
	} {
		var stderr bytes.Buffer
		if got := exitCode(passResult(tc.sum), &stderr); got != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.code)
		}
	}
}

func TestExitCode(t *testing.T) {
	var stderr bytes.Buffer
	if got := exitCode(nil, &stderr); got != 0 || stderr.Len() != 0 {
		t.Errorf("nil: %d %q", got, stderr.String())
	}
	if got := exitCode(errors.New("plain"), &stderr); got != codeFailure || stderr.String() != "trashd: plain\n" {
		t.Errorf("plain error: %d %q", got, stderr.String())
	}
	stderr.Reset()
	if got := exitCode(configErr(errors.New("key \x1b[2J")), &stderr); got != codeUsage || stderr.String() != "trashd: key \\x1b[2J\n" {
		t.Errorf("config error: %d %q", got, stderr.String())
	}
}
