package main_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// firstHour is the README's "On a server: the first hour": the operator's
// steps from install to the first pass.
func firstHour(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n### On a server: the first hour\n")
	if !ok {
		t.Fatal("README.md has no section \"On a server: the first hour\"")
	}
	section, _, _ := strings.Cut(rest, "\n#")
	return section
}

// codeOf is what the operator types or reads as code in md: the lines of
// fenced blocks and every `span`.
func codeOf(md string) []string {
	var code []string
	fenced := false
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			code = append(code, line)
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
			code = append(code, m[1])
		}
	}
	return code
}

// Every trashd command in the first hour exists and takes the flags it is
// shown with; every variable is one trashd knows; and the two it says to
// set are all a configuration needs.
func TestREADMEFirstHour(t *testing.T) {
	t.Parallel()
	section := firstHour(t)
	commands := 0
	invocation := regexp.MustCompile(`(?:^|[\s/])trashd ([a-z]+)((?:\s+--[a-z-]+)*)`)
	for _, line := range codeOf(section) {
		line, _, _ = strings.Cut(line, "#") // a shell comment
		for _, m := range invocation.FindAllStringSubmatch(line, -1) {
			commands++
			args := append([]string{m[1]}, strings.Fields(m[2])...)
			// The flags parse, and --help stops before anything runs.
			r := trashd(t, nil, append(args, "--help")...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: trashd "+m[1]) {
				t.Errorf("README runs `trashd %s`, which does not parse: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
			}
		}
	}
	if commands < 3 {
		t.Errorf("found %d trashd commands in the first hour, want migrate and trigger --wait at least", commands)
	}
	for _, want := range []string{"trashd migrate", "trashd trigger --wait", "make install", "scripts/install.sh"} {
		if !strings.Contains(section, want) {
			t.Errorf("the first hour does not mention %q", want)
		}
	}

	// Every variable named is one `trashd config` lists.
	known := trashd(t, []string{"TRASHD_TRASH_BUCKET=trash-readme", "TRASHD_SOURCE_BUCKET=source-readme"}, "config")
	if known.code != 0 {
		t.Errorf("with only TRASHD_TRASH_BUCKET and TRASHD_SOURCE_BUCKET set, the README's two settings, trashd config exits %d:\n%s",
			known.code, known.stderr)
	}
	if r := trashd(t, []string{"TRASHD_TRASH_BUCKET=trash-readme", "TRASHD_LMS_BUCKET_COLUMN=bucket"}, "config"); r.code != 0 {
		t.Errorf("with TRASHD_LMS_BUCKET_COLUMN for the source bucket, trashd config exits %d:\n%s", r.code, r.stderr)
	}
	for _, m := range regexp.MustCompile(`TRASHD_[A-Z0-9_]*[A-Z0-9]\b\*?`).FindAllString(section, -1) {
		if strings.HasSuffix(m, "*") {
			continue // a family: TRASHD_LMS_*_COLUMN
		}
		if !regexp.MustCompile(`(?m)^` + m + `\s`).MatchString(known.stdout) {
			t.Errorf("the first hour names %s, which trashd config does not list", m)
		}
	}

	// The paths and names agree with the unit, the install script and the
	// grants in docs/operations.md.
	files := map[string][]string{
		"../../systemd/trashd.service": {"ExecStart=/usr/local/bin/trashd serve", "EnvironmentFile=/etc/trashd/trashd.env",
			"LoadCredential=mysql-password:/etc/trashd/mysql-password", "Environment=TRASHD_MYSQL_PASSWORD_FILE="},
		"../../scripts/install.sh": {"/etc/trashd/trashd.env", "systemd/trashd.env.example", "/etc/systemd/system"},
		"../../Makefile":           {"\ninstall: "},
		"../../docs/operations.md": {"CREATE USER 'trashd_migrate'", "### MySQL grants", "### AWS credentials", "### Who may trigger"},
	}
	for path, wants := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not have %q, which the README's first hour relies on", path, w)
			}
		}
	}
	for _, w := range []string{"/usr/local/bin/trashd", "/etc/trashd/trashd.env", "/etc/trashd/mysql-password", "TRASHD_MYSQL_USER=trashd_migrate",
		"docs/operations.md#mysql-grants", "docs/operations.md#aws-credentials", "docs/operations.md#who-may-trigger"} {
		if !strings.Contains(section, w) {
			t.Errorf("the first hour does not mention %q", w)
		}
	}
}
