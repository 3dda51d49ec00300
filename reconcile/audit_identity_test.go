package reconcile_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// auditFinding is what the audit reported of one record.
type auditFinding struct {
	result reconcile.AuditResult
	detail string
}

// audit runs the audit over env and returns its summary and what it
// reported, by LMS row id.
func audit(t *testing.T, env *testworld.Env) (reconcile.AuditSummary, map[int64]auditFinding) {
	t.Helper()
	found := map[int64]auditFinding{}
	sum, err := reconcile.Audit(t.Context(), env.Store, env.S3, env.Trash, 4, func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
		found[rec.LMSID] = auditFinding{result, detail}
	})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return sum, found
}

// A restored object is checked against the file the restore put back, not
// only for existence: other bytes at the restored key are a problem.
func TestAuditRestoredObjectReplaced(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	key := "audit/restored.pdf"
	id := env.AddFile(t, key, testworld.Body("restored", 1500), true, 0)
	r := env.Runner(t, env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("move pass %+v", sum.Counts)
	}
	env.Untrash(t, id)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v", sum.Counts)
	}
	if sum, found := audit(t, env); sum.Checked != 1 || sum.Problems != 0 || sum.Unverifiable != 0 {
		t.Fatalf("audit of the restored file %+v %v: want it checked and found intact", sum, found)
	}

	s3test.PutObject(t, env.SDK, env.Source, key, testworld.Body("other bytes", 1500))
	sum, found := audit(t, env)
	if sum.Problems != 1 || found[id].result != reconcile.AuditProblem || !strings.Contains(found[id].detail, "other bytes") {
		t.Errorf("audit after the restored file was replaced: %+v, row %d: %+v; want a problem saying other bytes are there", sum, id, found[id])
	}
}

// A copied record of a versioned source whose recorded version was
// deleted: the older version, current again, is another file, and with the
// trash copy gone too the audit must say the object is nowhere.
func TestAuditVersionedRecordedVersionGone(t *testing.T) {
	t.Parallel()
	var stole atomic.Bool
	// The lease is taken away as the source's DeleteObject returns: the
	// delete of v2 is done, the record stays copied.
	w := newVersionedWorld(t, func(w *versionedWorld) s3test.Rule {
		return func(r *http.Request) s3test.Fault {
			if s3test.IsDelete(r) && strings.Contains(r.URL.Path, w.env.Source) && stole.CompareAndSwap(false, true) {
				return s3test.Fault{EditResponse: func(*http.Response) {
					execBehind(t, w.env, "UPDATE trash_objects SET lease_token = 'lost-in-a-crash'")
				}}
			}
			return s3test.Fault{}
		}
	})
	env := w.env
	if sum := run(t, env.Runner(t, env.Config("owner-a"))); sum.Counts.Interrupted != 1 {
		t.Fatalf("pass %+v: want the move interrupted after the delete of v2", sum.Counts)
	}
	rec := ruleRecord(t, env, w.id)
	var version string
	testworld.Must(t, env.DB.QueryRow("SELECT source_version FROM trash_objects WHERE lms_id = ?", w.id).Scan(&version))
	if rec.State != reconcile.StateCopied || version == "" {
		t.Fatalf("record %s of version %q: want copied, of a recorded version", rec.State, version)
	}
	wantObject(t, env, env.Source, w.key, w.v1, "the older version, current again")
	if sum, found := audit(t, env); sum.Checked != 1 || sum.Problems != 0 || sum.Unverifiable != 0 {
		t.Fatalf("audit with the trash copy in place %+v %v: want it intact", sum, found)
	}

	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(rec.TrashKey)})
	testworld.Must(t, err)
	sum, found := audit(t, env)
	if sum.Problems != 1 || found[w.id].result != reconcile.AuditProblem ||
		!strings.Contains(found[w.id].detail, "version "+version) || !strings.Contains(found[w.id].detail, "is gone") {
		t.Errorf("audit with v2 and its trash copy gone: %+v, row %d: %+v; want a problem naming the recorded version as gone", sum, w.id, found[w.id])
	}
}

// An object found where its record says, with nothing recorded of it to
// compare it with, is unverifiable: reported as such, never passed as
// intact. A record not yet copied needs only its source to exist.
func TestAuditUnverifiable(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	r := env.Runner(t, env.Config("owner-a"))

	// A record whose recorded identity was lost (a dump restored from
	// before its copy was recorded, a replica that lost writes).
	lost := env.AddFile(t, "audit/lost.bin", testworld.Body("lost", 800), true, 0)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("move pass %+v", sum.Counts)
	}
	_, err := env.DB.Exec(`UPDATE trash_objects SET source_version = NULL, source_size = NULL, source_etag = NULL, source_checksum = NULL,
		trash_size = NULL, trash_etag = NULL, trash_checksum = NULL WHERE lms_id = ?`, lost)
	testworld.Must(t, err)

	// A row trashed and restored before any attempt read its object.
	early := env.AddFile(t, "audit/early.bin", testworld.Body("early", 600), true, 0)
	n, err := env.Store.RecordTrashed(t.Context(), []reconcile.TrashedRow{{LMSID: early, Bucket: env.Source, Key: "audit/early.bin"}})
	if err != nil || n != 1 {
		t.Fatalf("record the trashed row: %d, %v", n, err)
	}
	if _, found := audit(t, env); found[early] != (auditFinding{}) {
		t.Errorf("audit of a pending record whose source is there: %+v, want it intact", found[early])
	}
	env.Untrash(t, early)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v", sum.Counts)
	}

	sum, found := audit(t, env)
	if sum.Unverifiable != 2 || sum.Problems != 0 || sum.Checked != 0 {
		t.Errorf("audit %+v: want both records unverifiable, none checked or a problem", sum)
	}
	for _, id := range []int64{lost, early} {
		if f := found[id]; f.result != reconcile.AuditUnverifiable || !strings.Contains(f.detail, "nothing was recorded") {
			t.Errorf("row %d: %+v, want unverifiable, saying nothing was recorded to compare with", id, f)
		}
	}
}
