package reconcile_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// recordOf reads the state, trash key and shared_with of LMS row id.
func recordOf(t *testing.T, env *testworld.Env, id int64) (state reconcile.State, trashKey string, sharedWith int64) {
	t.Helper()
	var key, with any
	testworld.Must(t, env.DB.QueryRow("SELECT state, trash_key, shared_with FROM trash_objects WHERE lms_id = ?", id).Scan(&state, &key, &with))
	if b, ok := key.([]byte); ok {
		trashKey = string(b)
	}
	if n, ok := with.(int64); ok {
		sharedWith = n
	}
	return state, trashKey, sharedWith
}

// trashObjects lists the keys in the trash bucket.
func trashObjects(t *testing.T, env *testworld.Env) []string {
	t.Helper()
	out, err := env.SDK.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(env.Trash)})
	testworld.Must(t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// due makes every record due now, as if its wait had passed.
func due(t *testing.T, env *testworld.Env) {
	t.Helper()
	_, err := env.DB.Exec("UPDATE trash_objects SET next_attempt_at = NOW(6)")
	testworld.Must(t, err)
}

// One object, two LMS rows: trashing one leaves the object where the other
// still uses it; trashing the other too moves it once, and both records
// know where its bytes are.
func TestSharedObjectMovesWhenTheLastRowIsTrashed(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "hash/ab/cd/abcdef", testworld.Body("shared", 3000), true, 0)
	b := env.AddSharedRow(t, a, false)
	r := env.Runner(t, env.Config("owner-a"))

	sum := run(t, r)
	if sum.Counts.Shared != 1 || sum.Counts.Moved != 0 {
		t.Fatalf("first pass %+v: want the object left in place as shared", sum.Counts)
	}
	if st, _, with := recordOf(t, env, a); st != reconcile.StateShared || with != b {
		t.Errorf("row %d: %s, shared with %d; want shared with row %d", a, st, with, b)
	}
	if keys := trashObjects(t, env); len(keys) != 0 {
		t.Errorf("trash bucket %v: want nothing copied while the object is in use", keys)
	}
	env.CheckInvariant(t)

	// A later pass looks again; still in use.
	due(t, env)
	if sum := run(t, r); sum.Counts.Shared != 1 || sum.Counts.Moved != 0 {
		t.Errorf("second pass %+v: want still shared", sum.Counts)
	}

	// The last row naming it is trashed: the object moves once.
	env.TrashRow(t, b)
	due(t, env)
	sum = run(t, r)
	if sum.Counts.Moved != 2 || sum.Counts.Missing != 0 {
		t.Errorf("third pass %+v: want both records moved, none missing", sum.Counts)
	}
	stA, keyA, _ := recordOf(t, env, a)
	stB, keyB, _ := recordOf(t, env, b)
	if stA != reconcile.StateInTrash || stB != reconcile.StateInTrash || keyA != keyB {
		t.Errorf("records %s at %q and %s at %q: want both in_trash sharing one trash copy", stA, keyA, stB, keyB)
	}
	if keys := trashObjects(t, env); len(keys) != 1 {
		t.Errorf("trash bucket %v: want exactly one copy", keys)
	}
	env.CheckInvariant(t)
}

// Both rows trashed from the start: one record moves the object, the other
// shares its copy instead of being recorded missing; restoring either one
// brings the object back, and the copy stays while the other relies on it.
func TestSharedObjectBothTrashed(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "hash/12/34/1234", testworld.Body("both", 500), true, 0)
	b := env.AddSharedRow(t, a, true)
	r := env.Runner(t, env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Moved != 2 || sum.Counts.Missing != 0 {
		t.Fatalf("pass %+v: want both moved, none missing", sum.Counts)
	}
	_, keyA, _ := recordOf(t, env, a)
	_, keyB, _ := recordOf(t, env, b)
	if keyA != keyB || len(trashObjects(t, env)) != 1 {
		t.Fatalf("trash keys %q and %q, bucket %v: want one shared copy", keyA, keyB, trashObjects(t, env))
	}
	env.CheckInvariant(t)

	// The LMS restores row a: the object is back, the copy kept for b.
	env.Untrash(t, a)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v: want row a restored", sum.Counts)
	}
	if len(trashObjects(t, env)) != 1 {
		t.Errorf("the shared trash copy was removed while row b still relies on it")
	}
	if st, _, _ := recordOf(t, env, b); st != reconcile.StateInTrash {
		t.Errorf("row b: %s, want still in_trash", st)
	}
	env.CheckInvariant(t)

	// Then row b: its bytes are already back at the key; now the copy goes.
	env.Untrash(t, b)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("second restore pass %+v: want row b restored", sum.Counts)
	}
	if keys := trashObjects(t, env); len(keys) != 0 {
		t.Errorf("trash bucket %v: want the copy removed once no record relies on it", keys)
	}
	env.CheckInvariant(t)
}

// One row trashed while another uses the object, then restored by the LMS,
// then trashed again: nothing ever moves, nothing is lost.
func TestSharedObjectRestoredAndTrashedAgain(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "course/handout.pdf", testworld.Body("handout", 900), true, 0)
	env.AddSharedRow(t, a, false)
	r := env.Runner(t, env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Shared != 1 {
		t.Fatalf("pass %+v: want shared", sum.Counts)
	}
	env.Untrash(t, a)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore pass %+v: want the shared record restored where it is", sum.Counts)
	}
	env.TrashRow(t, a)
	if sum := run(t, r); sum.Counts.Shared != 1 || sum.Counts.Moved != 0 {
		t.Fatalf("re-trash pass %+v: want shared again", sum.Counts)
	}
	if keys := trashObjects(t, env); len(keys) != 0 {
		t.Errorf("trash bucket %v: want nothing, the object never moved", keys)
	}
	env.CheckInvariant(t)
}

// With keys declared unique, the object moves although another row names
// it: "an object is moved even if another row names it".
func TestSharedObjectUniqueKeysOverride(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "unique/claimed.bin", testworld.Body("unique", 100), true, 0)
	b := env.AddSharedRow(t, a, false)
	lms := env.LMS
	lms.UniqueKeys = true
	store, err := db.NewStore(t.Context(), env.DB, lms)
	testworld.Must(t, err)
	r, err := reconcile.NewRunner(store, env.S3, env.Config("owner-a"), discard())
	testworld.Must(t, err)
	if sum := run(t, r); sum.Counts.Moved != 1 || sum.Counts.Shared != 0 {
		t.Fatalf("pass %+v: want the object moved despite row %d", sum.Counts, b)
	}
	env.Forget(b) // the operator's declaration: row b's object is gone from its key
	env.CheckInvariant(t)
}

// The live row is the one trashed later: the first record waits as shared,
// and names the row that keeps the object, for status and logs.
func TestSharedObjectNamesTheKeepingRow(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "x/y.txt", []byte("y"), false, 0)
	b := env.AddSharedRow(t, a, true)
	r := env.Runner(t, env.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Shared != 1 {
		t.Fatalf("pass %+v: want shared", sum.Counts)
	}
	if st, _, with := recordOf(t, env, b); st != reconcile.StateShared || with != a {
		t.Errorf("row %d: %s shared with %d; want shared with row %d", b, st, with, a)
	}
	var msg string
	testworld.Must(t, env.DB.QueryRow("SELECT COALESCE(last_error, '') FROM trash_objects WHERE lms_id = ?", b).Scan(&msg))
	if strings.Contains(msg, "missing") {
		t.Errorf("last_error %q", msg)
	}
	env.CheckInvariant(t)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A row restored while another row still relies on its trash copy, then
// trashed again, gets a trash key of its own for its new life: the copy the
// other row relies on is neither reused nor removed by it, and a restore of
// the other row removes only that old copy.
func TestSharedObjectNewLifeNewTrashKey(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	a := env.AddFile(t, "hash/lives", testworld.Body("lives", 600), true, 0)
	b := env.AddSharedRow(t, a, true)
	r := env.Runner(t, env.Config("owner-a"))
	run(t, r)
	_, oldKey, _ := recordOf(t, env, a)

	env.Untrash(t, a)
	run(t, r) // a restored; the copy is kept for b
	env.TrashRow(t, a)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("re-trash pass %+v: want row a moved again", sum.Counts)
	}
	_, newKey, _ := recordOf(t, env, a)
	if newKey == oldKey || !strings.HasPrefix(newKey, itoa(a)+".1/") {
		t.Fatalf("row a's second life is at %q (first %q): want a key of its own", newKey, oldKey)
	}
	if keys := trashObjects(t, env); len(keys) != 2 {
		t.Errorf("trash bucket %v: want the old copy (row b's) and the new one (row a's)", keys)
	}

	env.Untrash(t, b)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("restore of b %+v", sum.Counts)
	}
	if keys := trashObjects(t, env); len(keys) != 1 || keys[0] != newKey {
		t.Errorf("trash bucket %v: want only row a's copy %q left", keys, newKey)
	}
	env.CheckInvariant(t)
}

// A record keeps the trash bucket its copy was made in: a host whose
// configuration names another trash bucket still restores it from there.
func TestRecordKeepsItsTrashBucket(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	id := env.AddFile(t, "moved/then/reconfigured.txt", []byte("kept"), true, 0)
	run(t, env.Runner(t, env.Config("owner-a")))
	other := s3test.NewBucket(t, env.SDK, "trash2")
	cfg := env.Config("owner-b")
	cfg.TrashBucket = other
	env.Untrash(t, id)
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Restored != 1 {
		t.Fatalf("restore by a host configured with another trash bucket: %+v", sum.Counts)
	}
	env.CheckInvariant(t)
}
