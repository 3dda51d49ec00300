package reconcile_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
)

// atDefaults is env's configuration with the brake at its defaults, as a
// service runs it.
func atDefaults(env *testworld.Env) reconcile.Config {
	cfg := env.Config("owner-a")
	cfg.Mass = reconcile.MassLimits{Override: "--allow-mass-change"}
	return cfg
}

// sourceKeys lists the keys in env's source bucket.
func sourceKeys(t *testing.T, env *testworld.Env) []string {
	t.Helper()
	out, err := env.SDK.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(env.Source)})
	testworld.Must(t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// A small LMS whose trash column is one that is 1 on every row (visible):
// every live file would move. The pass stops before recording or moving
// anything, names the column, its kind and the settings to check; the
// count floor alone (50) would not have caught 40 rows.
func TestBrakeStopsWrongTrashColumnOfSmallLMS(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 40 {
		env.AddFile(t, fmt.Sprintf("live/%02d", i), []byte("live file"), false, 0)
	}
	_, err := env.DB.Exec("ALTER TABLE files ADD COLUMN visible TINYINT NOT NULL DEFAULT 1")
	testworld.Must(t, err)
	lms := env.LMS
	lms.TrashColumn = "visible"
	store, err := db.NewStore(t.Context(), env.DB, lms)
	testworld.Must(t, err)
	r, err := reconcile.NewRunner(store, env.S3, atDefaults(env), slog.New(slog.NewTextHandler(io.Discard, nil)))
	testworld.Must(t, err)

	_, err = r.Run(passCtx(t), reconcile.TriggerStartup)
	if !errors.Is(err, reconcile.ErrMassChange) || !errors.Is(err, reconcile.ErrMostTrashed) {
		t.Fatalf("Run = %v, want the brake on most rows looking trashed", err)
	}
	for _, want := range []string{"40 of 40 LMS rows", "`visible`", "kind flag", "TRASHD_LMS_TRASH_COLUMN", "TRASHD_LMS_TRASH_KIND",
		"nothing was changed", "--allow-mass-change"} {
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
	if keys := sourceKeys(t, env); len(keys) != 40 {
		t.Errorf("%d objects in the source bucket, want all 40 still there", len(keys))
	}

	// The dry run says the same and changes nothing.
	if err := r.WeighChanges(t.Context(), 40, 0, 0); !errors.Is(err, reconcile.ErrMostTrashed) {
		t.Errorf("WeighChanges(40 of 40) = %v, want the brake", err)
	}
	env.CheckInvariant(t)
}

// The share holds for a small table with a small floor: 60 newly trashed
// rows in a table of 460 (13 %) stop the pass; 30 (a course deleted, under
// the floor) pass.
func TestBrakeShareHoldsForSmallTables(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 400 {
		env.AddRow(t, fmt.Sprintf("live/%03d", i), false)
	}
	var ids []int64
	for i := range 60 {
		ids = append(ids, env.AddFile(t, fmt.Sprintf("course/%02d", i), []byte("x"), true, 0))
	}
	_, err := env.Runner(t, atDefaults(env)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) || errors.Is(err, reconcile.ErrMostTrashed) {
		t.Fatalf("Run = %v, want the share brake (not the majority)", err)
	}
	for _, want := range []string{"60", "of 460 LMS rows", "limits of 50 and 10%", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("records %v after a braked pass, want none", got)
	}
	// The LMS restores half of them: 30 newly trashed rows are a day's work.
	for _, id := range ids[:30] {
		env.Untrash(t, id)
	}
	if sum := run(t, env.Runner(t, atDefaults(env))); sum.Counts.Moved != 30 {
		t.Errorf("pass %+v: want 30 moved", sum.Counts)
	}
	env.CheckInvariant(t)
}

// Restores and orphanings are weighed by the same rules against the files
// in the trash: most of a small trash coming back, or losing its rows, at
// once stops the pass; a few do not.
func TestBrakeWeighsRestoresAndOrphansOfSmallTrash(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 20 {
		env.AddRow(t, fmt.Sprintf("live/%02d", i), false)
	}
	var ids []int64
	for i := range 24 {
		ids = append(ids, env.AddFile(t, fmt.Sprintf("trash/%02d", i), []byte("x"), true, 0))
	}
	run(t, env.Runner(t, env.Config("owner-a"))) // moved deliberately, brake off
	if got := env.States(t); got[reconcile.StateInTrash] != 24 {
		t.Fatalf("states %v, want 24 in_trash", got)
	}

	// 16 of 24 flags cleared: the brake; nothing marked for restore.
	for _, id := range ids[:16] {
		env.Untrash(t, id)
	}
	_, err := env.Runner(t, atDefaults(env)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMostTrashed) || !strings.Contains(err.Error(), "restore") || !strings.Contains(err.Error(), "16 of 24") {
		t.Fatalf("Run = %v, want the brake on restoring 16 of 24", err)
	}
	var marked int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_objects WHERE restore_requested_at IS NOT NULL").Scan(&marked))
	if marked != 0 {
		t.Errorf("%d records marked for restore after a braked pass, want none", marked)
	}
	if keys := trashObjects(t, env); len(keys) != 24 {
		t.Errorf("%d trash copies, want all 24 left", len(keys))
	}
	// Trashed again but 3: a few restores pass.
	for _, id := range ids[3:16] {
		env.TrashRow(t, id)
	}
	if sum := run(t, env.Runner(t, atDefaults(env))); sum.Counts.Restored != 3 {
		t.Errorf("pass %+v: want 3 restored", sum.Counts)
	}

	// 14 of the 21 left lose their rows: the brake; none orphaned.
	_, err = env.DB.Exec("DELETE FROM files WHERE id IN (" + joinIDs(ids[3:17]) + ")")
	testworld.Must(t, err)
	_, err = env.Runner(t, atDefaults(env)).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMostTrashed) || !strings.Contains(err.Error(), "orphan") || !strings.Contains(err.Error(), "TRASHD_LMS_TABLE") {
		t.Fatalf("Run = %v, want the brake on orphaning most of the trash", err)
	}
	if got := env.States(t); got[reconcile.StateOrphaned] != 0 {
		t.Errorf("states %v after a braked pass, want none orphaned", got)
	}
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
