package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validEnv is the defaults with the two buckets set: a configuration parse
// accepts.
func validEnv(t *testing.T) env {
	t.Helper()
	e := defaults(t)
	e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
	if _, err := parse(e); err != nil {
		t.Fatalf("parse(defaults) = %v", err)
	}
	return e
}

// problemFor is the line of err that reports name, or "".
func problemFor(err error, name string) string {
	if err == nil {
		return ""
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), name+": ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// Every variable of the table refuses a value that ends in "\r" (what a
// CRLF env file gives each one), under its own name, and the error asks
// about CRLF line endings once, however many values end so.
func TestParseRefusesControlCharactersInEveryVariable(t *testing.T) {
	all := validEnv(t)
	for _, v := range variables() {
		e := validEnv(t)
		val := e.value(v)
		if val == "" {
			val = "value-9d2f"
		}
		e.vars[v.Name] = val + "\r"
		all.vars[v.Name] = val + "\r"
		_, err := parse(e)
		line := problemFor(err, v.Name)
		if line == "" || !strings.Contains(line, "control character") || !strings.Contains(line, "carriage return") {
			t.Errorf("%s=%q: %v\nwant a problem for %s naming the carriage return", v.Name, val+"\r", err, v.Name)
			continue
		}
		if n := strings.Count(err.Error(), "CRLF line endings?"); n != 1 {
			t.Errorf("%s=%q: the error asks about CRLF line endings %d times, want once:\n%v", v.Name, val+"\r", n, err)
		}
		if secret(v.Name) && strings.Contains(err.Error(), val) {
			t.Errorf("%s is a secret, and the error shows its value:\n%v", v.Name, err)
		}
	}
	_, err := parse(all)
	if n := strings.Count(err.Error(), "CRLF line endings?"); n != 1 {
		t.Errorf("every value ending in \\r: CRLF line endings asked %d times, want once:\n%v", n, err)
	}
	if n := strings.Count(err.Error(), "\n  TRASHD_"); n < len(variables()) {
		t.Errorf("every value ending in \\r: %d problems, want one for each of the %d variables", n, len(variables()))
	}

	// A control character inside a value is refused too, and where it is
	// said; it is not a CRLF file.
	e := validEnv(t)
	e.vars["TRASHD_LIFECYCLE_RULE_ID"] = "trashd\tarchive"
	_, err = parse(e)
	if line := problemFor(err, "TRASHD_LIFECYCLE_RULE_ID"); !strings.Contains(line, `'\t' at byte 6`) || strings.Contains(err.Error(), "CRLF") {
		t.Errorf("a tab in the rule id: %v", err)
	}
}

// The AWS SDK's variables get the same check at start, never their value
// shown.
func TestParseRefusesControlCharactersInAWSVariables(t *testing.T) {
	for _, name := range awsVariables {
		t.Run(name, func(t *testing.T) {
			validEnv(t)
			t.Setenv("TRASHD_TRASH_BUCKET", "trash")
			t.Setenv("TRASHD_SOURCE_BUCKET", "files")
			t.Setenv(name, "value-7c1e\r")
			_, err := parse(readEnv())
			if line := problemFor(err, name); !strings.Contains(line, "control character") {
				t.Errorf("%s ending in \\r: %v, want a problem naming it", name, err)
			}
			if err != nil && (!strings.Contains(err.Error(), "CRLF line endings?") || strings.Contains(err.Error(), "value-7c1e")) {
				t.Errorf("%s ending in \\r: want the CRLF question and no value:\n%v", name, err)
			}
		})
	}
}

// Values that mislead: each is refused under its variable with what to
// write instead.
func TestParseRefusesMisleadingValues(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value string
		wants       []string
	}{
		{"TRASHD_S3_ENDPOINT", "http://127.0.0.1:8333/mybucket", []string{"the endpoint is the server only", "http://127.0.0.1:8333", "TRASHD_TRASH_BUCKET", `"/mybucket"`}},
		{"TRASHD_MYSQL_HOST", "/run/mysqld/mysqld.sock", []string{"unix socket", "TCP only", "TRASHD_MYSQL_PORT", "127.0.0.1"}},
		{"TRASHD_MYSQL_PASSWORD_FILE", empty, []string{empty, "is empty"}},
		{"TRASHD_METRICS_ADDR", "127.0.0.1", []string{"host:port with a numeric port", "127.0.0.1:9464"}},
		{"TRASHD_METRICS_ADDR", "localhost:http", []string{`port "http"`, "numeric port", "127.0.0.1:9464"}},
		{"TRASHD_LIFECYCLE_PREFIX", "trash/", []string{"matches no trash key", `"{id}/{key}"`, "GLACIER", "the whole trash bucket"}},
		{"TRASHD_LIFECYCLE_PREFIX", "/", []string{"matches no trash key"}},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			e := validEnv(t)
			e.vars[tc.name] = tc.value
			_, err := parse(e)
			line := problemFor(err, tc.name)
			if line == "" {
				t.Fatalf("parse accepted %s=%q: %v", tc.name, tc.value, err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(line, w) {
					t.Errorf("the problem does not say %q:\n%s", w, line)
				}
			}
			if n := strings.Count(err.Error(), tc.name+": "); n != 1 {
				t.Errorf("%s reported %d times:\n%v", tc.name, n, err)
			}
		})
	}

	// What stays accepted.
	for _, kv := range [][2]string{
		{"TRASHD_S3_ENDPOINT", "http://127.0.0.1:8333/"},
		{"TRASHD_MYSQL_HOST", "db.example.internal"},
		{"TRASHD_METRICS_ADDR", "[::1]:9464"},
		{"TRASHD_METRICS_ADDR", ""},
	} {
		e := validEnv(t)
		e.vars[kv[0]] = kv[1]
		if _, err := parse(e); err != nil {
			t.Errorf("%s=%q refused: %v", kv[0], kv[1], err)
		}
	}
	e := validEnv(t)
	e.vars["TRASHD_TRASH_KEY_TEMPLATE"], e.vars["TRASHD_LIFECYCLE_PREFIX"] = "trash/{id}/{key}", "trash/"
	if _, err := parse(e); err != nil {
		t.Errorf("a prefix the template's keys start with refused: %v", err)
	}
	e.vars["TRASHD_LIFECYCLE_PREFIX"] = "archive/"
	if line := problemFor(func() error { _, err := parse(e); return err }(), "TRASHD_LIFECYCLE_PREFIX"); !strings.Contains(line, `such as "trash/"`) {
		t.Errorf("a prefix beside the template's: %q, want trash/ suggested", line)
	}
}

// Expirations that do nothing or bill early deletions are accepted with a
// warning that gives the figures; a sensible one gets none.
func TestParseWarnsOfExpirations(t *testing.T) {
	for _, tc := range []struct {
		vars  map[string]string
		wants []string // in one warning each; none: no warning
	}{
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "365"}, nil},
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "365", "TRASHD_LIFECYCLE_MODE": "off"},
			[]string{"TRASHD_EXPIRATION_DAYS=365 is never applied", "TRASHD_LIFECYCLE_MODE=off", "trashd lifecycle --apply"}},
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "100"},
			[]string{"deletes each copy 70 days after it reached GLACIER", "at least 90 days", "early deletion of 20 more days", "at least 120"}},
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "200", "TRASHD_STORAGE_CLASS": "DEEP_ARCHIVE"},
			[]string{"170 days after it reached DEEP_ARCHIVE", "at least 180 days", "at least 210"}},
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "60", "TRASHD_STORAGE_CLASS": "GLACIER_IR", "TRASHD_ARCHIVE_MODE": "direct"},
			[]string{"60 days after it reached GLACIER_IR at the move", "early deletion of 30 more days", "at least 90"}},
		{map[string]string{"TRASHD_EXPIRATION_DAYS": "120"}, nil},
	} {
		e := validEnv(t)
		for k, v := range tc.vars {
			e.vars[k] = v
		}
		cfg, err := parse(e)
		if err != nil {
			t.Errorf("%v refused: %v", tc.vars, err)
			continue
		}
		if len(tc.wants) == 0 {
			if len(cfg.Warnings) != 0 {
				t.Errorf("%v: warnings %q, want none", tc.vars, cfg.Warnings)
			}
			continue
		}
		if len(cfg.Warnings) != 1 {
			t.Errorf("%v: %d warnings %q, want one", tc.vars, len(cfg.Warnings), cfg.Warnings)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(cfg.Warnings[0], w) {
				t.Errorf("%v: the warning does not say %q:\n%s", tc.vars, w, cfg.Warnings[0])
			}
		}
	}
}

// Every row's Opt is the field its parser sets: a value set through the
// table lands in the field varOf names it by.
func TestFieldPathFindsNestedFields(t *testing.T) {
	t.Parallel()
	for want, got := range map[string]string{
		"DB.Port":                     fieldPath(func(c *Config) *int { return &c.DB.Port }),
		"DB.Host":                     fieldPath(func(c *Config) *string { return &c.DB.Host }),
		"Reconcile.Archive.Rule.ID":   fieldPath(func(c *Config) *string { return &c.Reconcile.Archive.Rule.ID }),
		"Reconcile.Mass.Allow":        fieldPath(func(c *Config) *bool { return &c.Reconcile.Mass.Allow }),
		"ProgressInterval":            fieldPath(func(c *Config) *time.Duration { return &c.ProgressInterval }),
		"Reconcile.Archive.DayLength": fieldPath(func(c *Config) *time.Duration { return &c.Reconcile.Archive.DayLength }),
	} {
		if got != want {
			t.Errorf("fieldPath = %q, want %q", got, want)
		}
	}
}
