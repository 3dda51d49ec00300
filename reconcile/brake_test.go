package reconcile_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// braked is a configuration with the mass-change brake at count limits and
// a share of 10 %.
func braked(env *testworld.Env, count int) reconcile.Config {
	cfg := env.Config("owner-a")
	cfg.Mass = reconcile.MassLimits{Count: count, Share: 0.1, Override: "--allow-mass-change"}
	return cfg
}

// A wrong setting that makes every row look trashed stops the pass before
// anything is recorded or moved; the override lets it through.
func TestBrakeStopsMassDiscovery(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 12 {
		env.AddFile(t, fmt.Sprintf("mass/%02d", i), []byte("x"), true, 0)
	}
	_, err := env.Runner(t, braked(env, 5)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) {
		t.Fatalf("Run = %v, want the mass-change brake", err)
	}
	for _, want := range []string{"12", "--allow-mass-change", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("records %v after a braked pass, want none", got)
	}
	if keys := trashObjects(t, env); len(keys) != 0 {
		t.Errorf("trash bucket %v after a braked pass, want empty", keys)
	}
	env.CheckInvariant(t)

	cfg := braked(env, 5)
	cfg.Mass.Allow = true
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Moved != 12 {
		t.Errorf("overridden pass %+v: want all 12 moved", sum.Counts)
	}
	env.CheckInvariant(t)
}

// Below the count, or below the share of the table, the brake lets a pass
// through.
func TestBrakeLetsNormalDaysThrough(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 4 {
		env.AddFile(t, fmt.Sprintf("day/%02d", i), []byte("x"), true, 0)
	}
	if sum := run(t, env.Runner(t, braked(env, 5))); sum.Counts.Moved != 4 {
		t.Errorf("pass %+v: want 4 moved", sum.Counts)
	}
	env.CheckInvariant(t)
}

// Every trash flag cleared at once (a flag column that is not one) would
// restore everything from the archive class: the pass stops first.
func TestBrakeStopsMassRestore(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	var ids []int64
	for i := range 8 {
		ids = append(ids, env.AddFile(t, fmt.Sprintf("back/%02d", i), []byte("x"), true, 0))
	}
	run(t, env.Runner(t, env.Config("owner-a")))
	for _, id := range ids {
		env.Untrash(t, id)
	}
	_, err := env.Runner(t, braked(env, 3)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) || !strings.Contains(err.Error(), "restore") {
		t.Fatalf("Run = %v, want the brake on restores", err)
	}
	var marked int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_objects WHERE restore_requested_at IS NOT NULL").Scan(&marked))
	if marked != 0 || env.States(t)[reconcile.StateInTrash] != 8 {
		t.Errorf("%d marked for restore, states %v; want nothing changed", marked, env.States(t))
	}
	cfg := braked(env, 3)
	cfg.Mass.Allow = true
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Restored != 8 {
		t.Errorf("overridden pass %+v: want 8 restored", sum.Counts)
	}
	env.CheckInvariant(t)
}

// An LMS table emptied for maintenance would orphan every record: the pass
// stops; and orphaned records return when their rows come back.
func TestBrakeStopsMassOrphaningAndOrphansReturn(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 6 {
		env.AddFile(t, fmt.Sprintf("orphan/%02d", i), []byte("x"), true, 0)
	}
	run(t, env.Runner(t, env.Config("owner-a")))
	_, err := env.DB.Exec("CREATE TABLE files_backup AS SELECT * FROM files")
	testworld.Must(t, err)
	_, err = env.DB.Exec("DELETE FROM files")
	testworld.Must(t, err)

	_, err = env.Runner(t, braked(env, 2)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) || !strings.Contains(err.Error(), "orphan") {
		t.Fatalf("Run = %v, want the brake on orphanings", err)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 6 {
		t.Errorf("states %v, want all still in_trash", got)
	}

	// Deliberately: they are orphaned. Then the table comes back from its
	// backup, and so do the records' states.
	cfg := braked(env, 2)
	cfg.Mass.Allow = true
	run(t, env.Runner(t, cfg))
	if got := env.States(t); got[reconcile.StateOrphaned] != 6 {
		t.Fatalf("states %v, want 6 orphaned", got)
	}
	_, err = env.DB.Exec("INSERT INTO files SELECT * FROM files_backup")
	testworld.Must(t, err)
	run(t, env.Runner(t, braked(env, 2)))
	if got := env.States(t); got[reconcile.StateInTrash] != 6 {
		t.Errorf("states %v after the rows came back, want all in_trash again", got)
	}
	env.CheckInvariant(t)
}

// Most requests of a pass failing the same way (an S3 outage) stop the pass
// as a whole; no object uses up its attempts or becomes failed.
func TestOutageStopsThePassWithoutFailingObjects(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, func(o *s3ops.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			// HEADs of sources, and copies as they are (no HEAD first).
			if strings.Contains(r.URL.Path, "/outage/") && !s3test.IsProbe(r) {
				return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
			}
			return s3test.Fault{}
		}).Client()
	})
	for i := range 30 {
		env.AddFile(t, fmt.Sprintf("outage/%02d", i), []byte("x"), true, 0)
	}
	cfg := env.Config("owner-a")
	cfg.MaxAttempts = 1 // one failure would be terminal by the count alone
	cfg.FailAfter = 0   // the default: failing for a day
	_, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrOutage) {
		t.Fatalf("Run = %v, want the pass stopped as an outage", err)
	}
	if got := env.States(t); got[reconcile.StateFailed] != 0 {
		t.Errorf("states %v: an outage made objects failed", got)
	}
	env.CheckInvariant(t)
}

// One bad row fails alone, with a message naming it: a row naming the
// trash bucket, or a bucket name S3 would never accept.
func TestBadRowsFailAlone(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	good := env.AddFile(t, "good.txt", []byte("good"), true, 0)
	_, err := env.DB.Exec("INSERT INTO files (bucket, s3_key, trashed) VALUES (?, 'a.txt', 1), ('Not_A_Bucket', 'b.txt', 1)", env.Trash)
	testworld.Must(t, err)
	sum := run(t, env.Runner(t, env.Config("owner-a")))
	if sum.Counts.Moved != 1 || sum.Counts.Failed != 2 {
		t.Fatalf("pass %+v: want the good row moved and the two bad ones failed", sum.Counts)
	}
	rows, err := env.DB.Query("SELECT last_error FROM trash_objects WHERE state = 'failed' ORDER BY lms_id")
	testworld.Must(t, err)
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		testworld.Must(t, rows.Scan(&m))
		msgs = append(msgs, m)
	}
	if len(msgs) != 2 || !strings.Contains(msgs[0], "trash bucket") || !strings.Contains(msgs[1], "Not_A_Bucket") {
		t.Errorf("failures %q: want one naming the trash bucket and one naming the bad bucket", msgs)
	}
	if st, _, _ := recordOf(t, env, good); st != reconcile.StateInTrash {
		t.Errorf("good row %s", st)
	}
	env.CheckInvariant(t)
}

// A run of objects missing from the source, with nothing moved between
// them, reads as a wrong endpoint or bucket, not as lost files: the pass
// stops before recording them all missing.
func TestBrakeStopsARunOfMissingObjects(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 60 {
		env.AddRow(t, fmt.Sprintf("live/%02d", i), false) // most of an LMS is live
	}
	for i := range 40 {
		env.AddRow(t, fmt.Sprintf("nowhere/%02d", i), true)
	}
	cfg := braked(env, 1000) // discoveries within limits; the run of missing is not
	cfg.Concurrency = 1
	_, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Run = %v, want the pass stopped for a run of missing objects", err)
	}
	if got := env.States(t); got[reconcile.StateMissing] > 12 || got[reconcile.StatePending] < 28 {
		t.Errorf("states %v: want the pass stopped after about ten missing, the rest left pending", got)
	}
}
