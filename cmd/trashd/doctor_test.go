package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// doctorDoc is `trashd doctor --json`.
type doctorDoc struct {
	Buckets []struct {
		Bucket     string            `json:"bucket"`
		Role       string            `json:"role"`
		Versioned  bool              `json:"versioned"`
		Conditions map[string]string `json:"conditions"`
		Why        map[string]string `json:"why"`
		Paths      map[string]string `json:"paths"`
		Error      string            `json:"error"`
	} `json:"buckets"`
}

// The paths doctor names, by the start of what it says.
const (
	pathCopyConditional = "If-None-Match: * on every copy"
	pathCopyHeadFirst   = "the destination is HEADed first"
	pathDeleteBatched   = "DeleteObjects, each object on condition of its ETag"
	pathDeleteIfMatch   = "one DeleteObject each, with If-Match"
	pathDeleteVersion   = "by the version copied"
	pathDeleteRefused   = "refused"
)

// TestDoctorOnEachServer: `trashd doctor` on each server probes the trash
// bucket, the source bucket and a versioned bucket named by --bucket, and
// shows each condition with the answer that server gives (s3test.Server.
// Ignores: not honoured, with why; every other one honoured) and the path
// trashd takes there: a HEAD before each copy where If-None-Match on copies
// is not honoured, DeleteObject with If-Match where the per-object ETag of
// DeleteObjects is not, by version on the versioned bucket. --json says
// the same in one document. With If-Match on DeleteObject forbidden, the
// unversioned source is refused and doctor exits 3.
func TestDoctorOnEachServer(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		env := testworld.NewOn(t, srv)
		versioned := s3test.NewBucket(t, env.SDK, "doctor-versioned")
		s3test.EnableVersioning(t, env.SDK, versioned)
		wantCopy := pathCopyConditional
		if !srv.Honours(reconcile.CondCopyIfNoneMatch) || !srv.Honours(reconcile.CondCompleteIfNoneMatch) {
			wantCopy = pathCopyHeadFirst
		}
		wantDelete := pathDeleteBatched
		if !srv.Honours(reconcile.CondBatchDeleteETag) {
			wantDelete = pathDeleteIfMatch
		}

		r := trashd(t, env.Vars(), "doctor", "--bucket", versioned)
		if r.code != 0 {
			t.Fatalf("doctor: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		sections := doctorSections(t, r.stdout)
		for bucket, role := range map[string]string{env.Trash: "trash", env.Source: "source", versioned: "source"} {
			out, ok := sections[bucket]
			if !ok {
				t.Errorf("no section for s3://%s in\n%s", bucket, r.stdout)
				continue
			}
			if !strings.Contains(out, "("+role+" bucket)") {
				t.Errorf("s3://%s is not shown as the %s bucket:\n%s", bucket, role, out)
			}
			for _, cond := range reconcile.Conditions() {
				want := string(reconcile.Honoured)
				if !srv.Honours(cond) {
					want = string(reconcile.NotHonoured) + `\s+\S` // and why
				}
				if !regexp.MustCompile(`(?m)^  ` + string(cond) + `\s+` + want).MatchString(out) {
					t.Errorf("s3://%s: no line %q %s in\n%s", bucket, cond, want, out)
				}
			}
			if !strings.Contains(out, "  copy into: "+wantCopy) {
				t.Errorf("s3://%s: want the copy path %q in\n%s", bucket, wantCopy, out)
			}
			delete := wantDelete
			if bucket == versioned {
				delete = pathDeleteVersion
			}
			if bucket != env.Trash && !strings.Contains(out, "  delete: "+delete) {
				t.Errorf("s3://%s: want the delete path %q in\n%s", bucket, delete, out)
			}
		}

		r = trashd(t, env.Vars(), "doctor", "--bucket", versioned, "--json")
		var doc doctorDoc
		if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil {
			t.Fatalf("doctor --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
		}
		if len(doc.Buckets) != 3 {
			t.Fatalf("doctor --json: %d buckets, want 3\n%s", len(doc.Buckets), r.stdout)
		}
		for _, b := range doc.Buckets {
			for _, cond := range reconcile.Conditions() {
				want := reconcile.Honoured
				if !srv.Honours(cond) {
					want = reconcile.NotHonoured
				}
				if got := b.Conditions[string(cond)]; got != string(want) || b.Why[string(cond)] == "" {
					t.Errorf("--json s3://%s: %s %q (why %q), want %s with why", b.Bucket, cond, got, b.Why[string(cond)], want)
				}
			}
			if b.Versioned != (b.Bucket == versioned) || !strings.HasPrefix(b.Paths["copy_into"], wantCopy) {
				t.Errorf("--json s3://%s: versioned %v, copy path %q", b.Bucket, b.Versioned, b.Paths["copy_into"])
			}
			if b.Bucket == env.Source && !strings.HasPrefix(b.Paths["delete"], wantDelete) {
				t.Errorf("--json s3://%s: delete path %q, want %q", b.Bucket, b.Paths["delete"], wantDelete)
			}
			// The move of one request: an unversioned source bucket that
			// proves the conditions it takes; HEAD first anywhere else.
			wantMove := "HEAD first"
			if b.Bucket == env.Source && srv.Honours(reconcile.CondDeleteIfMatch) && srv.Honours(reconcile.CondCopySourceIfMatch) {
				wantMove = "one request"
			}
			if move, ok := b.Paths["move"]; b.Bucket != env.Trash && (!ok || !strings.HasPrefix(move, wantMove)) {
				t.Errorf("--json s3://%s: move path %q, want %q", b.Bucket, move, wantMove)
			}
		}

		r = trashd(t, with(env.Vars(), "TRASHD_S3_FORBID=delete_if_match"), "doctor", "--bucket", versioned)
		sections = doctorSections(t, r.stdout)
		if r.code != 3 || !strings.Contains(sections[env.Source], "  delete: "+pathDeleteRefused) ||
			!strings.Contains(sections[versioned], "  delete: "+pathDeleteVersion) ||
			!regexp.MustCompile(`(?m)^  delete_if_match\s+not_honoured\s+forbidden by TRASHD_S3_FORBID`).MatchString(sections[env.Source]) {
			t.Errorf("doctor with If-Match forbidden: exit %d, want 3, the unversioned source refused, the versioned one by version\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// doctorSections splits doctor's text by bucket: "s3://name (...)" starts
// one, up to the next.
func doctorSections(t *testing.T, out string) map[string]string {
	t.Helper()
	sections := map[string]string{}
	for _, part := range strings.Split(out, "\n\n") {
		name, _, ok := strings.Cut(strings.TrimPrefix(part, "s3://"), " ")
		if !ok || !strings.HasPrefix(part, "s3://") {
			t.Errorf("doctor: a section that names no bucket:\n%s", part)
			continue
		}
		sections[name] = part
	}
	return sections
}
