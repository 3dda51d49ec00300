package main_test

import (
	"strings"
	"testing"
)

var commandNames = []string{"migrate", "reconcile", "serve", "trigger", "status", "lifecycle", "restore", "retry", "audit", "config", "version"}

// Every command's help, asked either way, prints its usage and flags on
// stdout and exits 0, without reading the configuration.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, name := range commandNames {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			r := trashd(t, nil, args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: trashd "+name) || r.stderr != "" {
				t.Errorf("trashd %s: exit %d, want 0 and the usage on stdout\nstdout:\n%s\nstderr:\n%s",
					strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
	}
	if r := trashd(t, nil, "reconcile", "--help"); !strings.Contains(r.stdout, "--dry-run") || !strings.Contains(r.stdout, "--allow-mass-change") {
		t.Errorf("reconcile --help lacks its flags:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if r := trashd(t, nil, args...); r.code != 0 || !strings.Contains(r.stdout, "commands:") {
			t.Errorf("trashd %s: exit %d\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
	}
}

// A mistake in how a command is called says what was wrong, prints the
// usage and exits 2, before reading any configuration.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{nil, []string{"no command given", "commands:"}},
		{[]string{"recon"}, []string{`unknown command "recon"`, "commands:"}},
		{[]string{"reconcile", "now"}, []string{`reconcile takes no arguments, but was given "now"`, "usage: trashd reconcile", "--dry-run"}},
		{[]string{"status", "--bogus"}, []string{"flag provided but not defined: -bogus", "usage: trashd status"}},
		{[]string{"audit", "everything"}, []string{`audit takes no arguments`, "usage: trashd audit"}},
		{[]string{"restore"}, []string{"restore takes one LMS row id", "usage: trashd restore LMS_ROW_ID"}},
		{[]string{"restore", "x\x1b[2J"}, []string{`"x\x1b[2J" is not an LMS row id`, "usage: trashd restore"}},
		{[]string{"help", "nope"}, []string{`unknown command "nope"`}},
		{[]string{"serve", "--wait"}, []string{"flag provided but not defined: -wait", "usage: trashd serve"}},
	} {
		r := trashd(t, nil, tc.args...)
		if r.code != 2 {
			t.Errorf("trashd %q: exit %d, want 2\n%s", tc.args, r.code, r.stderr)
		}
		for _, w := range tc.wants {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("trashd %q: stderr lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
		if strings.ContainsRune(r.stderr, '\x1b') {
			t.Errorf("trashd %q: a control character reached the terminal:\n%q", tc.args, r.stderr)
		}
	}
}
