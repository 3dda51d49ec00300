package reconcile_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
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

// A restore over the older version that a versioned key shows again copies
// on condition of exactly that version's ETag (If-Match): an upload of the
// LMS's between the restore's HEAD and its copy is never covered. An upload
// of the same bytes passes the condition (an ETag names bytes, not a
// version); it is then kept beneath the restored file as a version, and the
// record's note names it and how to bring it back. Without an upload the
// restore notes nothing.
func TestRestoreOverOlderVersionNeverCoversAnUpload(t *testing.T) {
	t.Parallel()
	for _, upload := range []string{"none", "same bytes", "other bytes"} {
		t.Run(upload, func(t *testing.T) {
			t.Parallel()
			var armed, uploaded atomic.Bool
			var v3, v3Version, ifMatch atomic.Pointer[string]
			w := newVersionedWorld(t, func(w *versionedWorld) s3test.Rule {
				return func(r *http.Request) s3test.Fault {
					if armed.Load() && request("CopyObject", w.env.Source, w.key)(r) {
						h := r.Header.Get("If-Match")
						ifMatch.CompareAndSwap(nil, &h)
					}
					if upload != "none" && armed.Load() && request("CopyObject", w.env.Source, w.key)(r) && uploaded.CompareAndSwap(false, true) {
						// The copy waits while the LMS uploads.
						body := testworld.Body("v3 the LMS uploads", 555)
						if upload == "same bytes" {
							body = w.v1
						}
						out, err := w.env.SDK.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(w.env.Source), Key: aws.String(w.key), Body: bytes.NewReader(body)})
						if err != nil {
							t.Errorf("the LMS's upload: %v", err)
							return s3test.Fault{}
						}
						b := string(body)
						v3.Store(&b)
						v3Version.Store(out.VersionId)
					}
					return s3test.Fault{}
				}
			})
			env := w.env
			r := env.Runner(t, noRetry(env.Config("owner-a")))
			run(t, r)
			w.check(t)
			env.Untrash(t, w.id)
			armed.Store(true)
			sum := run(t, r)
			rec := ruleRecord(t, env, w.id)
			v1ETag := `"` + fmt.Sprintf("%x", md5.Sum(w.v1)) + `"`
			if got := ifMatch.Load(); got == nil || *got != v1ETag {
				t.Errorf("the copy over the older version carries If-Match %q, want %s: the older version's ETag", deref(got), v1ETag)
			}
			if upload == "other bytes" {
				if !uploaded.Load() || v3Version.Load() == nil {
					t.Fatal("the LMS's upload was not made while the copy back waited")
				}
				id := *v3Version.Load()
				if got := versionBytes(t, env, env.Source, w.key, id); !bytes.Equal(got, []byte(*v3.Load())) {
					t.Errorf("the LMS's upload, version %s, holds %d other bytes", id, len(got))
				}
				// Refused by If-Match: the LMS's file is current, and the
				// restore is tried again later (it then goes beside it).
				wantObject(t, env, env.Source, w.key, []byte(*v3.Load()), "the LMS's upload, current at the key")
				if rec.State == reconcile.StateRestored {
					t.Errorf("record restored at %q over the LMS's upload (%q)", rec.RestoredKey, rec.LastError)
				}
				return
			}
			if sum.Counts.Restored != 1 || rec.State != reconcile.StateRestored || rec.RestoredKey != w.key {
				t.Fatalf("restore pass %+v, record %s at %q (%q): want restored at the original key", sum.Counts, rec.State, rec.RestoredKey, rec.LastError)
			}
			wantObject(t, env, env.Source, w.key, w.v2, "the restored file, current at the key")
			if upload == "none" {
				if rec.LastError != "" {
					t.Errorf("restored right over the older version, with a note: %q", rec.LastError)
				}
				return
			}
			if !uploaded.Load() || v3Version.Load() == nil {
				t.Fatal("the LMS's upload was not made while the copy back waited")
			}
			id := *v3Version.Load()
			if !strings.Contains(rec.LastError, "version "+id+" (") || !strings.Contains(rec.LastError, "copy version "+id+" onto the key") {
				t.Errorf("note %q: want it to name the LMS's version %s beneath, and how to bring it back", rec.LastError, id)
			}
			if got := versionBytes(t, env, env.Source, w.key, id); !bytes.Equal(got, w.v1) {
				t.Errorf("the LMS's upload, version %s, holds %d other bytes", id, len(got))
			}
		})
	}
}

// A file the LMS wrote at a versioned key after the move is newer than the
// trashed version: it is not taken for the older version resurfaced and
// overwritten, and the restore goes beside it.
func TestRestoreBesideANewerVersion(t *testing.T) {
	t.Parallel()
	w := newVersionedWorld(t, nil)
	env := w.env
	r := env.Runner(t, env.Config("owner-a"))
	run(t, r)
	w.check(t)

	newer := testworld.Body("v3 the LMS wrote after the move", 444)
	s3test.PutObject(t, env.SDK, env.Source, w.key, newer)
	// Last-Modified has whole seconds: the trashed version is made an hour
	// older than the LMS's file, as it would be once time has passed.
	execBehind(t, env, "UPDATE trash_objects SET source_modified = source_modified - INTERVAL 1 HOUR WHERE lms_id = ?", w.id)
	env.Untrash(t, w.id)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v: want restored", sum.Counts)
	}
	beside := strings.Replace(w.key, ".pdf", fmt.Sprintf(".restored-%d.pdf", w.id), 1)
	rec := ruleRecord(t, env, w.id)
	if rec.State != reconcile.StateRestored || rec.RestoredKey != beside || !strings.Contains(rec.LastError, "newer file") {
		t.Errorf("record %s at %q (%q): want restored beside the key, at %q, with a note", rec.State, rec.RestoredKey, rec.LastError, beside)
	}
	wantObject(t, env, env.Source, w.key, newer, "the LMS's newer file, current at the key")
	wantObject(t, env, env.Source, beside, w.v2, "the restored file")
	out, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(env.Source), Prefix: aws.String(w.key)})
	testworld.Must(t, err)
	if n := countKey(out, w.key); n != 2 {
		t.Errorf("%d versions at the key, want the older one and the LMS's: nothing written over them", n)
	}
	env.CheckInvariant(t)
}

// versionBytes reads version id of bucket/key.
func versionBytes(t *testing.T, env *testworld.Env, bucket, key, id string) []byte {
	t.Helper()
	out, err := env.SDK.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(id)})
	if err != nil {
		t.Fatalf("get version %s of s3://%s/%s: %v", id, bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	testworld.Must(t, err)
	return b
}

// countKey counts the versions of exactly key in a listing.
func countKey(out *s3.ListObjectVersionsOutput, key string) int {
	n := 0
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			n++
		}
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return "<no request>"
	}
	return *s
}
