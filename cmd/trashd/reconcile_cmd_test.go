package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

func TestReconcileEndToEnd(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	vars := with(env.Vars(), "TRASHD_MULTIPART_THRESHOLD=5MiB", "TRASHD_PART_SIZE=5MiB")
	for i := range 30 {
		key := fmt.Sprintf("course-%d/week %d/notes+%d%%.pdf", i%3, i, i)
		env.AddFile(t, key, testworld.Body(key, 2000+i), i%3 != 0, 0)
	}
	env.AddFile(t, "lectures/ünïcödé lecture.mp4", testworld.Body("big", 11<<20), true, 5<<20)
	env.AddRow(t, "gone/before/trashd/saw/it.pdf", true)
	addLiveRows(t, env, 50)

	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	dry := trashd(t, vars, "reconcile", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "would discover 22") {
		t.Errorf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", dry.code, dry.stdout, dry.stderr)
	}
	if got := env.States(t); len(got) != 0 {
		t.Fatalf("the dry run recorded %v", got)
	}

	r := trashd(t, vars, "reconcile")
	// One row's object never existed: the pass reports it missing (exit 3).
	if r.code != 3 {
		t.Fatalf("reconcile: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"moved 21", "missing 1", "failed 0", "in_trash", "21"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reconcile output lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 21 || got[reconcile.StateMissing] != 1 {
		t.Errorf("states %v, want 21 in_trash and 1 missing", got)
	}
	env.CheckInvariant(t)

	st := trashd(t, vars, "status")
	if st.code != 0 || !strings.Contains(st.stdout, "in_trash") || !strings.Contains(st.stdout, "manual") {
		t.Errorf("status: exit %d\n%s\n%s", st.code, st.stdout, st.stderr)
	}
	again := trashd(t, vars, "reconcile")
	if again.code != 0 || !strings.Contains(again.stdout, "moved 0") {
		t.Errorf("second reconcile: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
	}

	// The audit agrees, until a trash copy disappears behind trashd's back.
	if a := trashd(t, vars, "audit"); a.code != 0 || !strings.Contains(a.stdout, "21 records checked, 0 problems") {
		t.Errorf("audit: exit %d\n%s%s", a.code, a.stdout, a.stderr)
	}
	var lmsID int64
	var trashKey string
	testworld.Must(t, env.DB.QueryRow("SELECT lms_id, trash_key FROM trash_objects WHERE state = 'in_trash' LIMIT 1").Scan(&lmsID, &trashKey))
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
	testworld.Must(t, err)
	a := trashd(t, vars, "audit")
	if a.code != 3 || !strings.Contains(a.stdout, fmt.Sprintf("LMS row %d", lmsID)) || !strings.Contains(a.stdout, "1 problems") {
		t.Errorf("audit after a trash copy vanished: exit %d\n%s%s", a.code, a.stdout, a.stderr)
	}
}

// Two processes race over one backlog: every object is moved and deleted
// exactly once, and nothing is lost.
func TestReconcileTwoProcessesRace(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	var deletes sync.Map
	proxy := s3test.NewProxy(t, s3test.Endpoint())
	// A hold that never matches, to count the deletes passing by.
	proxy.Hold(func(req *http.Request) bool {
		bucket, key := s3test.BucketKey(req)
		if bucket != env.Source || s3test.IsProbe(req) {
			return false
		}
		var keys []string
		switch s3test.Operation(req) {
		case "DeleteObject":
			keys = []string{key}
		case "DeleteObjects":
			for _, o := range s3test.DeleteObjectsOf(req) {
				keys = append(keys, o.Key)
			}
		}
		for _, key := range keys {
			n, _ := deletes.LoadOrStore(key, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		return false
	})
	vars := with(env.Vars(), "TRASHD_S3_ENDPOINT="+proxy.URL, "TRASHD_CONCURRENCY=8", "TRASHD_BATCH_SIZE=50")
	const n = 200
	for i := range n {
		key := fmt.Sprintf("race/%03d.bin", i)
		env.AddFile(t, key, testworld.Body(key, 512), true, 0)
	}
	addLiveRows(t, env, 10*n)
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = trashd(t, vars, "reconcile") })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("process %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
	}
	if got := env.States(t); got[reconcile.StateInTrash] != n || len(got) != 1 {
		t.Errorf("states %v, want %d in_trash", got, n)
	}
	count := 0
	deletes.Range(func(k, v any) bool {
		count++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("%s deleted %d times", k, c)
		}
		return true
	})
	if count != n {
		t.Errorf("%d sources deleted, want %d", count, n)
	}
	env.CheckInvariant(t)
}

// A pass killed with SIGKILL after its copy and before its delete loses
// nothing; the next pass finishes the move.
func TestReconcileKilledBeforeDelete(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	proxy := s3test.NewProxy(t, s3test.Endpoint())
	var holding atomic.Bool
	holding.Store(true)
	held := proxy.Hold(func(req *http.Request) bool {
		bucket, _ := s3test.BucketKey(req)
		return holding.Load() && s3test.IsDelete(req) && bucket == env.Source
	})
	vars := with(env.Vars(), "TRASHD_S3_ENDPOINT="+proxy.URL, "TRASHD_CONCURRENCY=4")
	for i := range 12 {
		key := fmt.Sprintf("kill/%02d.txt", i)
		env.AddFile(t, key, testworld.Body(key, 300), true, 0)
	}
	addLiveRows(t, env, 50)
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}

	cmd := command(t.Context(), vars, "reconcile")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	select {
	case <-held:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("no DELETE reached the proxy")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	// The held deletes die with the killed client's connections: none
	// reaches the server.
	holding.Store(false)

	// Killed while a delete was held: at least that object was copied,
	// verified and recorded, and its source is still there.
	if got := env.States(t); got[reconcile.StateCopied] == 0 || got[reconcile.StateInTrash] != 0 {
		t.Fatalf("states %v after the kill, want some copied and none in_trash", got)
	}
	env.CheckInvariant(t)

	// The killed process's leases would lapse on their own; expire them now
	// instead of waiting, as the database clock would.
	if _, err := env.DB.Exec("UPDATE trash_objects SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE lease_token IS NOT NULL"); err != nil {
		t.Fatal(err)
	}
	r := trashd(t, vars, "reconcile")
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 12 || len(got) != 1 {
		t.Errorf("states %v, want 12 in_trash", got)
	}
	env.CheckInvariant(t)
}

func TestBadConfigurationTouchesNothing(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "keep.txt", []byte("keep"), true, 0)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, tc := range []struct {
		name  string
		vars  []string
		code  int
		wants []string
	}{
		{"unparsable values", []string{"TRASHD_CONCURRENCY=lots", "TRASHD_LEASE=1", "TRASHD_LMS_TRASH_KIND=bool"}, 2,
			[]string{"TRASHD_CONCURRENCY", "TRASHD_LEASE", "TRASHD_LMS_TRASH_KIND"}},
		{"bad identifier", []string{"TRASHD_LMS_TABLE=files`; DROP TABLE files; --"}, 2, []string{"files`; DROP TABLE files; --"}},
		{"unknown column", []string{"TRASHD_LMS_KEY_COLUMN=object_key"}, 2, []string{"object_key", "s3_key"}},
		{"unknown table", []string{"TRASHD_LMS_TABLE=documents"}, 2, []string{"documents", "files"}},
		{"no trash bucket", []string{"TRASHD_TRASH_BUCKET="}, 2, []string{"TRASHD_TRASH_BUCKET"}},
		{"missing trash bucket", []string{"TRASHD_TRASH_BUCKET=no-such-bucket-trashd"}, 1, []string{"no-such-bucket-trashd"}},
		{"wrong credentials", []string{"AWS_SECRET_ACCESS_KEY=wrong"}, 1, []string{"credentials"}},
		{"unreachable database", []string{"TRASHD_MYSQL_PORT=1", "TRASHD_MYSQL_DIAL_TIMEOUT=2s"}, 1, []string{"127.0.0.1:1"}},
	} {
		r := trashd(t, with(env.Vars(), tc.vars...), "reconcile")
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.code, r.stderr)
		}
		for _, w := range tc.wants {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not mention %q:\n%s", tc.name, w, r.stderr)
			}
		}
		if strings.Contains(r.stderr+r.stdout, "trashd-dev-secret") {
			t.Errorf("%s: the output contains the secret key", tc.name)
		}
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("records %v, want none", got)
	}
	env.CheckInvariant(t)
}
