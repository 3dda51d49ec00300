package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
)

// --json prints one document with exact keys; the text outputs escape a
// key's control characters, so that none reaches the terminal.
func TestJSONOutputsAndEscapedKeys(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "plain.txt", []byte("plain"), true, 0)
	evil := "evil\n\x1b[2Jkey\x00"
	dbtest.InsertFile(t, env.DB, "", evil, true) // no object, and a key S3 refuses: it fails
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	noRawControls := func(name, out string) {
		t.Helper()
		if strings.ContainsAny(out, "\x1b\x00") {
			t.Errorf("%s: a raw control character reached the output:\n%q", name, out)
		}
	}

	dry := trashd(t, env.Vars(), "reconcile", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, `"evil\n\x1b[2Jkey\x00"`) {
		t.Errorf("dry run: exit %d, want the key escaped\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	noRawControls("dry run", dry.stdout+dry.stderr)

	var doc struct {
		Discover int `json:"would_discover"`
		New      []struct {
			LMSID int64  `json:"lms_id"`
			Key   string `json:"key"`
		} `json:"new"`
		Changed bool `json:"changed"`
	}
	r := trashd(t, env.Vars(), "reconcile", "--dry-run", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil {
		t.Fatalf("dry run --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if doc.Discover != 2 || len(doc.New) != 2 || doc.New[1].Key != evil || doc.Changed {
		t.Errorf("dry run --json = %+v, want 2 new rows, the second with the exact key", doc)
	}
	if r := trashd(t, env.Vars(), "reconcile", "--json"); r.code != 2 || !strings.Contains(r.stderr, "--json goes with --dry-run") {
		t.Errorf("reconcile --json: exit %d, want 2\n%s", r.code, r.stderr)
	}

	if r := trashd(t, env.Vars(), "reconcile"); r.code != 3 {
		t.Fatalf("reconcile: exit %d, want 3 (one failed)\n%s%s", r.code, r.stdout, r.stderr)
	}

	st := trashd(t, env.Vars(), "status", "--failed")
	if st.code != 0 || !strings.Contains(st.stdout, `evil\n\x1b[2Jkey\x00`) {
		t.Errorf("status --failed: exit %d, want the key escaped\n%s%s", st.code, st.stdout, st.stderr)
	}
	noRawControls("status --failed", st.stdout)
	var sdoc struct {
		States []struct {
			State   string `json:"state"`
			Objects int    `json:"objects"`
		} `json:"states"`
		Runs []struct {
			Status string `json:"status"`
			Counts struct {
				Moved, Failed int
			} `json:"counts"`
		} `json:"runs"`
		Failed []struct {
			State, Key, Reason string
		} `json:"failed"`
	}
	r = trashd(t, env.Vars(), "status", "--failed", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &sdoc); r.code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(sdoc.Failed) != 1 || sdoc.Failed[0].Key != evil || sdoc.Failed[0].State != "failed" || sdoc.Failed[0].Reason == "" ||
		len(sdoc.Runs) != 1 || sdoc.Runs[0].Counts.Moved != 1 || sdoc.Runs[0].Counts.Failed != 1 {
		t.Errorf("status --failed --json = %+v", sdoc)
	}

	// The key S3 refuses is a finding (exit 3), with the key exact.
	var adoc struct {
		Checked, Problems int
		Findings          []struct {
			Problem string `json:"problem"`
		} `json:"findings"`
	}
	r = trashd(t, env.Vars(), "audit", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &adoc); r.code != 3 || err != nil || adoc.Checked != 2 || adoc.Problems != 1 ||
		len(adoc.Findings) != 1 || !strings.Contains(adoc.Findings[0].Problem, evil) {
		t.Errorf("audit --json: exit %d, %v, %+v\n%s%s", r.code, err, adoc, r.stdout, r.stderr)
	}

	var ldoc struct {
		Bucket  string   `json:"bucket"`
		InPlace bool     `json:"in_place"`
		Drift   []string `json:"drift"`
	}
	r = trashd(t, env.Vars(), "lifecycle", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &ldoc); r.code != 3 || err != nil || ldoc.InPlace || len(ldoc.Drift) == 0 || ldoc.Bucket != env.Trash {
		t.Errorf("lifecycle --json: exit %d, %v, %+v\n%s%s", r.code, err, ldoc, r.stdout, r.stderr)
	}
}

// config --json: every variable with its source, secrets redacted, and the
// problems; the exit code as without --json.
func TestConfigJSON(t *testing.T) {
	t.Parallel()
	var doc struct {
		Variables []struct{ Name, Value, Source string } `json:"variables"`
		Problems  []string                               `json:"problems"`
	}
	r := trashd(t, []string{"TRASHD_TRASH_BUCKET=trash", "TRASHD_SOURCE_BUCKET=src", "TRASHD_MYSQL_PASSWORD=hunter2", "TRASHD_CONCURRENCY=lots"}, "config", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 2 {
		t.Fatalf("config --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	got := map[string]string{}
	for _, v := range doc.Variables {
		got[v.Name] = v.Value + "/" + v.Source
	}
	if got["TRASHD_TRASH_BUCKET"] != "trash/environment" || got["TRASHD_MYSQL_PASSWORD"] != "(redacted)/environment" || got["TRASHD_MYSQL_HOST"] != "127.0.0.1/default" {
		t.Errorf("variables %v", got)
	}
	if len(doc.Problems) != 1 || !strings.HasPrefix(doc.Problems[0], "TRASHD_CONCURRENCY: ") {
		t.Errorf("problems %q, want the one naming TRASHD_CONCURRENCY", doc.Problems)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Error("the password is in the output")
	}
}
