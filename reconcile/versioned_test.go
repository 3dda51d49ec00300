package reconcile_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// versionedWorld is a versioned source bucket holding two versions of one
// trashed file: the LMS's row names the key, whose current version (v2) is
// the trashed file; v1 is an older version that becomes current once v2 is
// deleted.
type versionedWorld struct {
	env    *testworld.Env
	id     int64
	key    string
	v1, v2 []byte
}

func newVersionedWorld(t *testing.T, rule func(w *versionedWorld) s3test.Rule) *versionedWorld {
	t.Helper()
	w := &versionedWorld{key: "versioned/report.pdf", v1: testworld.Body("v1", 700), v2: testworld.Body("v2", 900)}
	w.env = testworld.New(t, func(o *s3ops.Options) {
		if rule != nil {
			o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault { return rule(w)(r) }).Client()
		}
	})
	s3test.EnableVersioning(t, w.env.SDK, w.env.Source)
	s3test.PutObject(t, w.env.SDK, w.env.Source, w.key, w.v1)
	w.id = w.env.AddFile(t, w.key, w.v2, true, 0)
	return w
}

// check asserts that nothing of the trashed file was lost or mistaken: the
// trash copy holds v2, the record is in_trash and describes v2, and v1 is
// untouched, current at the key.
func (w *versionedWorld) check(t *testing.T) {
	t.Helper()
	env := w.env
	st, trashKey, _ := recordOf(t, env, w.id)
	if st != reconcile.StateInTrash {
		t.Errorf("record %s, want in_trash", st)
	}
	if got := s3test.Get(t, env.SDK, env.Trash, trashKey); !bytes.Equal(got, w.v2) {
		t.Errorf("the trash copy holds %d bytes that are not the trashed version v2 (v1 is %v): the verified copy was overwritten",
			len(got), bytes.Equal(got, w.v1))
	}
	if got := s3test.Get(t, env.SDK, env.Source, w.key); !bytes.Equal(got, w.v1) {
		t.Errorf("the key's current version is not the untouched older version v1")
	}
	out, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(env.Source), Prefix: aws.String(w.key)})
	testworld.Must(t, err)
	if len(out.Versions) != 1 {
		t.Errorf("%d versions left under the key, want only v1", len(out.Versions))
	}
	var size int64
	testworld.Must(t, env.DB.QueryRow("SELECT source_size FROM trash_objects WHERE lms_id = ?", w.id).Scan(&size))
	if size != int64(len(w.v2)) {
		t.Errorf("the record describes a %d-byte source, want v2's %d bytes", size, len(w.v2))
	}
	problems := 0
	sum, err := reconcile.Audit(t.Context(), env.Store, env.S3, env.Trash, 4, func(r reconcile.Record, _ reconcile.AuditResult, p string) {
		problems++
		t.Errorf("audit: record %d: %s", r.ID, p)
	})
	if err != nil || sum.Problems != 0 {
		t.Errorf("audit %+v, %v", sum, err)
	}
}

// A database error after the delete of v2 (here: the lease taken away as
// the DeleteObject returns, so the in_trash write fails) leaves the record
// copied; the next pass must only make sure v2 is gone, never copy the now
// current v1 over the verified copy nor delete it.
func TestVersionedRetryAfterTheDelete(t *testing.T) {
	t.Parallel()
	var broke atomic.Bool
	w := newVersionedWorld(t, func(w *versionedWorld) s3test.Rule {
		return func(r *http.Request) s3test.Fault {
			if s3test.IsDelete(r) && strings.Contains(r.URL.Path, w.env.Source) && broke.CompareAndSwap(false, true) {
				return s3test.Fault{EditResponse: func(*http.Response) {
					_, err := w.env.DB.Exec("UPDATE trash_objects SET lease_token = 'lost-in-a-crash'")
					testworld.Must(t, err)
				}}
			}
			return s3test.Fault{}
		}
	})
	r := w.env.Runner(t, w.env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Interrupted != 1 {
		t.Fatalf("first pass %+v: want the object interrupted after its delete", sum.Counts)
	}
	if st, _, _ := recordOf(t, w.env, w.id); st != reconcile.StateCopied {
		t.Fatalf("after the failed write the record is %s, want copied", st)
	}
	// The crashed worker's lease lapses.
	_, err := w.env.DB.Exec("UPDATE trash_objects SET lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL")
	testworld.Must(t, err)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("second pass %+v: want the move finished", sum.Counts)
	}
	w.check(t)
}

// The first DeleteObject's response is lost after S3 applied it; the SDK
// retries, and S3 answers the retry 412 (AWS checks If-Match against the now
// current v1). Nothing of v1 may be touched, and the move is done.
func TestVersionedLostDeleteResponseThen412(t *testing.T) {
	t.Parallel()
	var deletes atomic.Int32
	w := newVersionedWorld(t, func(w *versionedWorld) s3test.Rule {
		return func(r *http.Request) s3test.Fault {
			if !s3test.IsDelete(r) || !strings.Contains(r.URL.Path, w.env.Source) {
				return s3test.Fault{}
			}
			switch deletes.Add(1) {
			case 1:
				return s3test.Fault{LoseResponse: errors.New("connection reset by peer")}
			case 2:
				return s3test.Fault{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
			}
			return s3test.Fault{}
		}
	})
	r := w.env.Runner(t, w.env.Config("owner-a"))
	// The lost response fails the delete (trashd, not the SDK, retries a
	// delete: with a fresh fence); the retry may fall in the next pass.
	moved := 0
	for range 3 {
		if moved = run(t, r).Counts.Moved; moved == 1 {
			break
		}
		due(t, w.env)
	}
	if moved != 1 {
		t.Fatalf("the object was not moved in three passes")
	}
	if deletes.Load() < 2 {
		t.Fatalf("%d DeleteObject requests: the fault never saw the retry", deletes.Load())
	}
	w.check(t)
}

// A new version is written at the key between the copy and the delete: the
// delete removes exactly the copied version (v2); the new version stays
// current, untouched, and the verified copy is not overwritten.
func TestVersionedSourceOverwrittenBeforeTheDelete(t *testing.T) {
	t.Parallel()
	v3 := testworld.Body("v3", 333)
	var once atomic.Bool
	w := newVersionedWorld(t, func(w *versionedWorld) s3test.Rule {
		return func(r *http.Request) s3test.Fault {
			if s3test.IsDelete(r) && strings.Contains(r.URL.Path, w.env.Source) && once.CompareAndSwap(false, true) {
				s3test.PutObject(t, w.env.SDK, w.env.Source, w.key, v3)
			}
			return s3test.Fault{}
		}
	})
	r := w.env.Runner(t, w.env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("pass %+v: want the object moved", sum.Counts)
	}
	_, trashKey, _ := recordOf(t, w.env, w.id)
	if got := s3test.Get(t, w.env.SDK, w.env.Trash, trashKey); !bytes.Equal(got, w.v2) {
		t.Errorf("the trash copy is not v2")
	}
	if got := s3test.Get(t, w.env.SDK, w.env.Source, w.key); !bytes.Equal(got, v3) {
		t.Errorf("the new version v3 is not current and intact at the key")
	}
	out, err := w.env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(w.env.Source), Prefix: aws.String(w.key)})
	testworld.Must(t, err)
	if len(out.Versions) != 2 {
		t.Errorf("%d versions under the key, want v1 and v3", len(out.Versions))
	}
}

// Restoring a file moved from a versioned source, where the version before
// it is current again: the trashed version goes back on top, at the key the
// LMS reads (not beside it), and the older version stays a version.
func TestVersionedRestoreOverTheOlderVersion(t *testing.T) {
	t.Parallel()
	w := newVersionedWorld(t, nil)
	r := w.env.Runner(t, w.env.Config("owner-a"))
	run(t, r)
	w.check(t)
	w.env.Untrash(t, w.id)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v", sum.Counts)
	}
	var restoredKey string
	testworld.Must(t, w.env.DB.QueryRow("SELECT restored_key FROM trash_objects WHERE lms_id = ?", w.id).Scan(&restoredKey))
	if restoredKey != w.key {
		t.Errorf("restored to %q, want the original key %q", restoredKey, w.key)
	}
	if got := s3test.Get(t, w.env.SDK, w.env.Source, w.key); !bytes.Equal(got, w.v2) {
		t.Errorf("the key does not serve the restored file")
	}
	out, err := w.env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(w.env.Source), Prefix: aws.String(w.key)})
	testworld.Must(t, err)
	if len(out.Versions) != 2 {
		t.Errorf("%d versions under the key, want the older one kept beneath the restored one", len(out.Versions))
	}
}
