package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// defaults returns the environment as readEnv reads it with no TRASHD_
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

// The README's configuration table is the table of variables, row for row:
// name, default and description. TRASHD_TEST_UPDATE_README=1 rewrites it.
func TestREADMEConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const header = "| variable | default | meaning |\n"
	start := bytes.Index(readme, []byte(header))
	if start < 0 {
		t.Fatal("README.md has no configuration table")
	}
	end := start + bytes.Index(readme[start:], []byte("\n\n")) + 1
	got, want := string(readme[start:end]), configTable()
	if got == want {
		return
	}
	if os.Getenv("TRASHD_TEST_UPDATE_README") != "" {
		updated := append(append(append([]byte(nil), readme[:start]...), want...), readme[end:]...)
		if err := os.WriteFile("../../README.md", updated, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's configuration table rewritten")
		return
	}
	gotRows, wantRows := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gotRows), len(wantRows)) {
		g, w := "(none)", "(none)"
		if i < len(gotRows) {
			g = gotRows[i]
		}
		if i < len(wantRows) {
			w = wantRows[i]
		}
		if g != w {
			t.Errorf("README.md's configuration table, row %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
	t.Log("TRASHD_TEST_UPDATE_README=1 go test -run TestREADMEConfigurationTable ./cmd/trashd/ rewrites it")
}

// `trashd config` lists exactly the README's variables, each with the
// README's default when nothing is set.
func TestConfigCommandMatchesREADME(t *testing.T) {
	defaults(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(TRASHD_[A-Z0-9_]+)` \\|([^|]*)\\|").FindAllSubmatch(readme, -1) {
		documented[string(m[1])] = strings.Trim(strings.TrimSpace(string(m[2])), "`")
	}
	var stdout bytes.Buffer
	runConfig(&stdout, true) // invalid without buckets: the listing is what counts
	var doc struct {
		Variables []struct{ Name, Value, Source string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("trashd config --json: %v\n%s", err, stdout.String())
	}
	listed := map[string]bool{}
	for _, v := range doc.Variables {
		listed[v.Name] = true
		def, ok := documented[v.Name]
		switch {
		case !ok:
			t.Errorf("trashd config lists %s, which the README does not", v.Name)
		case v.Source != "default" || v.Value != def:
			t.Errorf("trashd config: %s=%q (%s); the README's default is %q", v.Name, v.Value, v.Source, def)
		}
	}
	for name := range documented {
		if !listed[name] {
			t.Errorf("the README documents %s, which trashd config does not list", name)
		}
	}
	if len(listed) < 60 {
		t.Errorf("trashd config lists only %d variables", len(listed))
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
