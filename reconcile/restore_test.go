package reconcile_test

import (
	"strconv"

	"bytes"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// A file restored beside a newer one at its key, then trashed again, moves
// from where the restore put it: the beside key is never forgotten, and the
// newer file at the original key is never touched.
func TestRestoreBesideThenTrashAgain(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	old := testworld.Body("original", 800)
	id := env.AddFile(t, "notes/week1.pdf", old, true, 0)
	r := env.Runner(t, env.Config("owner-a"))
	run(t, r)

	// The LMS puts a new file at the key, then restores the row.
	newer := testworld.Body("newer", 400)
	s3test.PutObject(t, env.SDK, env.Source, "notes/week1.pdf", newer)
	env.Forget(id)
	testworld.Must(t, func() error { _, err := env.DB.Exec("UPDATE files SET trashed = 0 WHERE id = ?", id); return err }())
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v", sum.Counts)
	}
	beside := "notes/week1.restored-1.pdf"
	var restoredKey string
	testworld.Must(t, env.DB.QueryRow("SELECT restored_key FROM trash_objects WHERE lms_id = ?", id).Scan(&restoredKey))
	if restoredKey != strings.Replace(beside, "-1.", "-"+itoa(id)+".", 1) {
		t.Fatalf("restored to %q, want beside the original key", restoredKey)
	}
	if got := s3test.Get(t, env.SDK, env.Source, restoredKey); !bytes.Equal(got, old) {
		t.Fatalf("the beside copy is not the original file")
	}

	// Trashed again: the beside copy is what moves.
	testworld.Must(t, func() error { _, err := env.DB.Exec("UPDATE files SET trashed = 1 WHERE id = ?", id); return err }())
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("re-trash pass %+v: want the beside copy moved", sum.Counts)
	}
	var state, sourceKey, keptKey string
	testworld.Must(t, env.DB.QueryRow("SELECT state, source_key, restored_key FROM trash_objects WHERE lms_id = ?", id).Scan(&state, &sourceKey, &keptKey))
	if state != string(reconcile.StateInTrash) || sourceKey != restoredKey || keptKey != restoredKey {
		t.Errorf("record %s from %q (restored_key %q): want in_trash from the beside key, the beside key kept", state, sourceKey, keptKey)
	}
	if got := s3test.Get(t, env.SDK, env.Trash, trashKey(t, env, id)); !bytes.Equal(got, old) {
		t.Errorf("the trash copy is not the original file")
	}
	if got := s3test.Get(t, env.SDK, env.Source, "notes/week1.pdf"); !bytes.Equal(got, newer) {
		t.Errorf("the newer file at the original key was touched")
	}
	if _, err := env.S3.Head(t.Context(), env.Source, restoredKey); err == nil {
		t.Errorf("the beside copy is still in the source bucket after its move")
	}
}

// A failed record may hold the only copy: a restore considers it, brings
// the object back and only then removes the trash copy.
func TestRestoreOfAFailedRecord(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	refuse.Store(true)
	env := testworld.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if refuse.Load() && s3test.IsDelete(r) {
				return s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied"}
			}
			return s3test.Fault{}
		}).Client()
	})
	id := env.AddFile(t, "failed/then-restored.txt", testworld.Body("f", 321), true, 0)
	r := env.Runner(t, env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Failed != 1 {
		t.Fatalf("pass %+v: want the delete refused and the record failed", sum.Counts)
	}
	key := trashKey(t, env, id)
	// Whatever refused the delete, the source is gone now: the trash copy is
	// the only one.
	_, err := env.SDK.DeleteObject(t.Context(), s3DeleteInput(env.Source, "failed/then-restored.txt"))
	testworld.Must(t, err)
	refuse.Store(false)
	env.Untrash(t, id)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v: want the failed record restored", sum.Counts)
	}
	if _, err := env.S3.Head(t.Context(), env.Trash, key); err == nil {
		t.Errorf("the trash copy is still there after the restore")
	}
	env.CheckInvariant(t)
}

// An x-amz-restore header trashd cannot read is an error that quotes it,
// not a record left restoring forever.
func TestRestoreUnparsableRestoreHeader(t *testing.T) {
	t.Parallel()
	var garble atomic.Bool
	env, _ := glacierEnv(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if garble.Load() && r.Method == http.MethodHead {
				return s3test.Fault{EditResponse: func(resp *http.Response) {
					if resp.Header.Get("X-Amz-Storage-Class") == "GLACIER" {
						resp.Header.Set("X-Amz-Restore", `ongoing-request="maybe"`)
					}
				}}
			}
			return s3test.Fault{}
		}).Client()
	})
	id := env.AddFile(t, "archived/garbled.bin", []byte("garbled"), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff})
	r := env.Runner(t, cfg)
	run(t, r)
	if storageClass(t, env, env.Trash, trashKey(t, env, id)) != "GLACIER" {
		t.Fatalf("the copy is not in GLACIER")
	}
	garble.Store(true)
	env.Untrash(t, id)
	deadline := time.Now().Add(10 * time.Second)
	for stateOf(t, env, id) != reconcile.StateRestoreFailed && time.Now().Before(deadline) {
		due(t, env)
		run(t, r)
	}
	var msg string
	testworld.Must(t, env.DB.QueryRow("SELECT last_error FROM trash_objects WHERE lms_id = ?", id).Scan(&msg))
	if st := stateOf(t, env, id); st != reconcile.StateRestoreFailed || !strings.Contains(msg, `ongoing-request="maybe"`) {
		t.Errorf("record %s: %q; want restore_failed quoting the header", st, msg)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func s3DeleteInput(bucket, key string) *s3.DeleteObjectInput {
	return &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}
