package main_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"trashd/internal/testworld"
)

// A record whose object is there but whose recorded identity is lost is
// shown as unverifiable, in the text and in --json, counted apart from the
// records checked; it is not a problem (exit 0).
func TestAuditShowsUnverifiable(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	id := env.AddFile(t, "audit/lost.txt", []byte("identity lost"), true, 0)
	env.AddFile(t, "audit/kept.txt", []byte("identity kept"), true, 0)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := trashd(t, env.Vars(), "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, err := env.DB.Exec(`UPDATE trash_objects SET source_size = NULL, source_etag = NULL, source_checksum = NULL,
		trash_size = NULL, trash_etag = NULL, trash_checksum = NULL WHERE lms_id = ?`, id)
	testworld.Must(t, err)

	r := trashd(t, env.Vars(), "audit")
	if r.code != 0 || !strings.Contains(r.stdout, "1 records checked, 0 problems, 1 unverifiable") ||
		!strings.Contains(r.stdout, fmt.Sprintf("LMS row %d (record", id)) || !strings.Contains(r.stdout, "unverifiable: ") {
		t.Errorf("audit: exit %d, want 0 with the row listed unverifiable and counted\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Checked, Problems, Unverifiable int
		Findings                        []struct {
			LMSID   int64  `json:"lms_id"`
			Result  string `json:"result"`
			Problem string `json:"problem"`
		} `json:"findings"`
	}
	r = trashd(t, env.Vars(), "audit", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil || doc.Checked != 1 || doc.Problems != 0 || doc.Unverifiable != 1 ||
		len(doc.Findings) != 1 || doc.Findings[0].LMSID != id || doc.Findings[0].Result != "unverifiable" || doc.Findings[0].Problem == "" {
		t.Errorf("audit --json: exit %d, %v, %+v\n%s%s", r.code, err, doc, r.stdout, r.stderr)
	}
}
