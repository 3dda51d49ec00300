package main_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// crashScenario is one object's life that the crash loop kills at every
// step: setup builds the world (and runs any pass before the one under
// test), check judges it after a clean pass has followed the kill.
type crashScenario struct {
	name  string
	setup func(t *testing.T, env *testworld.Env)
	check func(t *testing.T, env *testworld.Env)
}

// crashVars are the variables of every process in the crash loop: the
// shortest lease the configuration accepts, with MySQL timeouts short
// enough for it.
func crashVars(env *testworld.Env) []string {
	return with(env.Vars(), "TRASHD_LEASE=10s",
		"TRASHD_MYSQL_DIAL_TIMEOUT=1s", "TRASHD_MYSQL_READ_TIMEOUT=1s", "TRASHD_MYSQL_WRITE_TIMEOUT=1s")
}

// TestCrash kills a real `trashd reconcile` with SIGKILL right after the
// response to its Nth S3 request, and, separately, right after the response
// to its Nth database write, for every N up to the last of the pass; each
// time a clean pass follows, and the object must end where it would have
// without the crash, intact.
func TestCrash(t *testing.T) {
	t.Parallel()
	for _, sc := range []crashScenario{
		{name: "move", setup: setupMove, check: checkMoved},
		{name: "batch", setup: setupBatch, check: checkBatch},
		{name: "versioned", setup: setupVersioned, check: checkVersionedMove},
		{name: "restore", setup: setupRestore, check: checkRestored},
	} {
		for _, kind := range []string{"s3", "db"} {
			t.Run(sc.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				steps := crashRun(t, sc, kind, 0)
				t.Logf("an uninterrupted pass takes %d %s steps: %q", len(steps), kind, steps)
				for n := 1; n <= len(steps); n++ {
					t.Run(fmt.Sprintf("kill-after-%02d", n), func(t *testing.T) {
						t.Parallel()
						crashRun(t, sc, kind, n)
					})
				}
			})
		}
	}
}

// crashRun sets up sc in a fresh world and runs a pass that is killed right
// after the response to its kill-th step of kind ("s3": requests, "db":
// writes), or never when kill is 0; then, after a kill, it waits until
// nothing of the killed process can reach the servers, ends its leases and
// runs a clean pass. It checks the world and returns the steps that the
// interrupted (or uninterrupted) pass took.
func crashRun(t *testing.T, sc crashScenario, kind string, kill int) []string {
	env := testworld.New(t)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	sc.setup(t, env)

	tap, dbp := newS3Tap(t), newDBProxy(t, env)
	// Once killed, the process sends nothing more. Before, its other
	// goroutines go on while the kill-th step waits for its answer, as
	// they would: stalling them could leave that step waiting for ever on
	// a row lock that a stalled transaction holds.
	var (
		v       = newVictim()
		counted atomic.Int32
		steps   = make(chan string, 1000)
	)
	step := func(s string) func() {
		n := int(counted.Add(1))
		steps <- s
		if n != kill {
			return nil
		}
		return func() { v.kill(fmt.Sprintf("%s step %d: %s", kind, n, s)) }
	}
	tap.setRule(func(req string) tapAction {
		if v.dead.Load() {
			return tapAction{Stall: true}
		}
		if kind == "s3" && !strings.HasSuffix(req, probeStep) {
			// A probe's requests are no step of the move: what a probe
			// killed midway leaves under its prefix, a later probe
			// removes (s3ops' TestProbeRemovesWhatKilledProbesLeft).
			return tapAction{After: step(req)}
		}
		return tapAction{}
	})
	dbp.SetRule(func(c dbtest.Command) dbtest.Action {
		if v.dead.Load() {
			return dbtest.Action{Stall: true}
		}
		if kind == "db" && c.Write() {
			return dbtest.Action{After: step(c.String())}
		}
		return dbtest.Action{}
	})

	v.start(t, throughProxies(crashVars(env), tap, dbp), "reconcile")
	select {
	case <-v.exited:
	case <-v.killed:
		v.wait(t, time.Minute)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the pass neither finished nor reached step %d:\n%s", kill, v.out.String())
	}
	close(steps)
	var took []string
	for s := range steps {
		took = append(took, s)
	}

	var clean result
	if last := v.lastStep(); last != "" {
		t.Logf("killed right after %s", last)
		if len(took) > kill {
			t.Logf("sent by other goroutines before the kill: %q", took[kill:])
		}
		tap.awaitIdle(t)
		awaitServerClosed(t, env.DB, dbp)
		t.Logf("records after the kill: %v", recordStates(t, env.DB))
		expireLeases(t, env.DB)
		clean = trashd(t, crashVars(env), "reconcile")
		if clean.code != 0 {
			t.Errorf("clean pass after the kill (%s): exit %d", last, clean.code)
		}
	} else {
		if kill > 0 {
			t.Logf("the pass finished after %d %s steps, before step %d", len(took), kind, kill)
		}
		if code := v.exitCode(); code != 0 {
			t.Errorf("uninterrupted pass: exit %d\n%s", code, v.out.String())
		}
	}
	checkFinal(t, env, v.lastStep())
	sc.check(t, env)
	if t.Failed() {
		t.Logf("steps of the killed pass: %q\nits output:\n%s", took, v.out.String())
		if v.lastStep() != "" {
			t.Logf("the clean pass's output:\n%s%s", clean.stdout, clean.stderr)
		}
	}
	return took
}

// checkFinal fails t unless every record is in a state a pass leaves
// behind for good: none pending, copied or restoring, none leased.
func checkFinal(t *testing.T, env *testworld.Env, last string) {
	t.Helper()
	for state, n := range env.States(t) {
		switch state {
		case reconcile.StateInTrash, reconcile.StateArchived, reconcile.StateRestored:
		default:
			t.Errorf("after a kill right after %q and a clean pass, %d records are %s: %v", last, n, state, recordStates(t, env.DB))
		}
	}
	var leased int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_objects WHERE lease_token IS NOT NULL").Scan(&leased))
	if leased != 0 {
		t.Errorf("%d records still leased after the clean pass", leased)
	}
}

const crashKey = "course-1/week 2/crash notes.pdf"

func setupMove(t *testing.T, env *testworld.Env) {
	env.AddFile(t, crashKey, testworld.Body(crashKey, 3000), true, 0)
}

func checkMoved(t *testing.T, env *testworld.Env) {
	t.Helper()
	if got := env.States(t); got[reconcile.StateInTrash]+got[reconcile.StateArchived] != 1 {
		t.Errorf("states %v, want the one record in_trash", got)
	}
	env.CheckInvariant(t)
}

// batchKeys are moved together, in one batch of the fast path: one
// DeleteObjects and one statement per step for all of them, so that a kill
// after each falls between the objects' steps, not beside them.
var batchKeys = []string{crashKey, "course-1/empty", "course-2/ünï cödé+%20.txt"}

func setupBatch(t *testing.T, env *testworld.Env) {
	for _, key := range batchKeys {
		body := testworld.Body(key, 2000)
		if key == "course-1/empty" {
			body = nil
		}
		env.AddFile(t, key, body, true, 0)
	}
}

func checkBatch(t *testing.T, env *testworld.Env) {
	t.Helper()
	if got := env.States(t); got[reconcile.StateInTrash]+got[reconcile.StateArchived] != len(batchKeys) {
		t.Errorf("states %v, want all %d records in_trash", got, len(batchKeys))
	}
	env.CheckInvariant(t)
}

// The versioned source holds an older version under the trashed key: the
// move must take the current version (v2) and leave v1 where it is.
func setupVersioned(t *testing.T, env *testworld.Env) {
	s3test.EnableVersioning(t, env.SDK, env.Source)
	s3test.PutObject(t, env.SDK, env.Source, crashKey, versionBody("v1"))
	env.AddFile(t, crashKey, versionBody("v2"), true, 0)
}

func versionBody(v string) []byte { return testworld.Body(crashKey+v, 3000) }

func checkVersionedMove(t *testing.T, env *testworld.Env) {
	t.Helper()
	var state, trashKey string
	testworld.Must(t, env.DB.QueryRow("SELECT state, COALESCE(trash_key, '') FROM trash_objects").Scan(&state, &trashKey))
	if state != string(reconcile.StateInTrash) {
		t.Errorf("record %s, want in_trash", state)
	}
	if trashKey == "" {
		t.Fatal("the record has no trash key")
	}
	if got := s3test.Get(t, env.SDK, env.Trash, trashKey); sha256.Sum256(got) != sha256.Sum256(versionBody("v2")) {
		t.Errorf("s3://%s/%s does not hold v2, the trashed version (%d bytes; v1 is %v)", env.Trash, trashKey, len(got),
			sha256.Sum256(got) == sha256.Sum256(versionBody("v1")))
	}
	out, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(env.Source), Prefix: aws.String(crashKey)})
	testworld.Must(t, err)
	var v1, v2 int
	for _, ver := range out.Versions {
		if aws.ToString(ver.Key) != crashKey {
			continue
		}
		switch body := getVersion(t, env, crashKey, aws.ToString(ver.VersionId)); sha256.Sum256(body) {
		case sha256.Sum256(versionBody("v1")):
			v1++
		case sha256.Sum256(versionBody("v2")):
			v2++
		}
	}
	if v1 != 1 {
		t.Errorf("the source holds v1 %d times, want once: the older version was lost", v1)
	}
	if v2 != 0 {
		t.Errorf("the source still holds v2 as a version: the trashed version was not deleted")
	}
	if len(out.DeleteMarkers) != 0 {
		t.Errorf("%d delete markers at the key, want none: the recorded version is deleted, not hidden", len(out.DeleteMarkers))
	}
}

// A clean pass moves the file; then the LMS clears its trash flag, and the
// pass under test restores it.
func setupRestore(t *testing.T, env *testworld.Env) {
	id := env.AddFile(t, crashKey, testworld.Body(crashKey, 3000), true, 0)
	if r := trashd(t, crashVars(env), "reconcile"); r.code != 0 {
		t.Fatalf("the move before the restore: exit %d\n%s", r.code, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 1 {
		t.Fatalf("states %v before the restore, want in_trash", got)
	}
	env.Untrash(t, id)
}

func checkRestored(t *testing.T, env *testworld.Env) {
	t.Helper()
	if got := env.States(t); got[reconcile.StateRestored] != 1 {
		t.Errorf("states %v, want the one record restored", got)
	}
	env.CheckInvariant(t)
	out, err := env.SDK.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(env.Trash)})
	testworld.Must(t, err)
	for _, o := range out.Contents {
		if strings.HasPrefix(aws.ToString(o.Key), reconcile.ProbePrefix) {
			continue // a probe killed midway: a later one removes it
		}
		t.Errorf("s3://%s/%s is left in the trash bucket after the restore", env.Trash, aws.ToString(o.Key))
	}
}

// getVersion reads one version of key in the source bucket.
func getVersion(t *testing.T, env *testworld.Env, key, version string) []byte {
	t.Helper()
	out, err := env.SDK.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(env.Source), Key: aws.String(key), VersionId: aws.String(version)})
	testworld.Must(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	testworld.Must(t, err)
	return b
}
