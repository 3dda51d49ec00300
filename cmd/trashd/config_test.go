package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// defaults returns the environment as envconfig fills it with no TRASHD_
// variable set.
func defaults(t *testing.T) env {
	t.Helper()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TRASHD_") {
			name, _, _ := strings.Cut(kv, "=")
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	return readEnv()
}

func TestParseDefaults(t *testing.T) {
	e := defaults(t)
	e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
	cfg, err := parse(e)
	if err != nil {
		t.Fatalf("parse(defaults) = %v", err)
	}
	if cfg.S3.MultipartThreshold != 5<<30 || cfg.S3.PartSize != 256<<20 {
		t.Errorf("threshold %d, part size %d; want 5GiB and 256MiB", cfg.S3.MultipartThreshold, cfg.S3.PartSize)
	}
	if cfg.Reconcile.Concurrency != 64 || cfg.DB.Port != 3306 || cfg.LMS.TrashKind != "flag" {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	e := defaults(t)
	e.vars["TRASHD_MYSQL_PORT"] = "70000"
	e.vars["TRASHD_CONCURRENCY"] = "many"
	e.vars["TRASHD_LEASE"] = "soon"
	e.vars["TRASHD_MULTIPART_THRESHOLD"] = "6GiB"
	e.vars["TRASHD_LMS_TABLE"] = "files; DROP TABLE files"
	e.vars["TRASHD_LMS_KEY_COLUMN"] = "1key"
	e.vars["TRASHD_S3_CHECKSUMS"] = "sometimes"
	e.vars["TRASHD_TRASH_KEY_TEMPLATE"] = "{key}"
	e.vars["TRASHD_S3_ENDPOINT"] = "localhost:8333"
	e.vars["TRASHD_STORAGE_CLASS"] = "STANDARD_IA"
	e.vars["TRASHD_EXPIRATION_DAYS"] = "10"
	e.vars["TRASHD_RESTORE_TIER"] = "Instant"
	_, err := parse(e)
	if err == nil {
		t.Fatal("parse accepted a bad configuration")
	}
	for _, want := range []string{
		"TRASHD_MYSQL_PORT", "TRASHD_CONCURRENCY", "TRASHD_LEASE", "TRASHD_MULTIPART_THRESHOLD",
		"files; DROP TABLE files", "1key", "TRASHD_S3_CHECKSUMS", "TRASHD_TRASH_KEY_TEMPLATE",
		"TRASHD_TRASH_BUCKET", "TRASHD_S3_ENDPOINT", "TRASHD_STORAGE_CLASS", "TRASHD_EXPIRATION_DAYS", "TRASHD_RESTORE_TIER",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s:\n%v", want, err)
		}
	}
}

func TestParsePasswordFile(t *testing.T) {
	e := defaults(t)
	e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
	e.vars["TRASHD_MYSQL_PASSWORD_FILE"] = filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(e.vars["TRASHD_MYSQL_PASSWORD_FILE"], []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(e)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.Password != "s3cret" {
		t.Errorf("password = %q, want the file's first line", cfg.DB.Password)
	}
	e.vars["TRASHD_MYSQL_PASSWORD_FILE"] = filepath.Join(t.TempDir(), "absent")
	if _, err := parse(e); err == nil || !strings.Contains(err.Error(), "TRASHD_MYSQL_PASSWORD_FILE") {
		t.Errorf("a missing password file: %v, want an error naming TRASHD_MYSQL_PASSWORD_FILE", err)
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"5GiB": 5 << 30, "8MiB": 8 << 20, "16KiB": 16 << 10, "10MB": 10e6, "1234": 1234, " 2 GiB ": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseBytes("lots"); err == nil {
		t.Error("parseBytes(lots) succeeded")
	}
}

// The README's configuration table must list every variable with its default.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range defaultsByName(t) {
		row := regexp.MustCompile("(?m)^\\| `" + name + "` \\|([^|]*)\\|")
		m := row.FindSubmatch(readme)
		if m == nil {
			t.Errorf("README's configuration table has no row for %s", name)
			continue
		}
		got := strings.Trim(strings.TrimSpace(string(m[1])), "`")
		if got != def {
			t.Errorf("README says %s defaults to %q; the code says %q", name, got, def)
		}
	}
}

// The env example must list every variable with its default.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../systemd/trashd.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range defaultsByName(t) {
		line := regexp.MustCompile("(?m)^#?" + name + "=(.*)$").FindSubmatch(example)
		if line == nil {
			t.Errorf("systemd/trashd.env.example has no line for %s", name)
			continue
		}
		if got := strings.Trim(string(line[1]), `"`); got != def && got != "" {
			t.Errorf("systemd/trashd.env.example says %s=%q; the default is %q", name, got, def)
		}
	}
}

// defaultsByName lists every TRASHD_ variable with its default.
func defaultsByName(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, v := range variables() {
		vars[v.Name] = v.Default
	}
	if len(vars) < 60 {
		t.Fatalf("only %d variables", len(vars))
	}
	return vars
}
