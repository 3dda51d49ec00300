package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// dayLength is one lifecycle day on the emulation's accelerated clock: the
// shortest a runner accepts.
const dayLength = reconcile.MinDayLength

// restoreDelay is how long the emulation takes for a restore of the tiers
// the tests use (Expedited and Standard), on its clock: tests move the
// clock on by it instead of waiting.
const restoreDelay = 300 * time.Millisecond

// glacierEnv is a world whose S3 client talks to the Glacier emulation in
// front of the real server, on a clock of the test's (srv.Advance).
func glacierEnv(t *testing.T, extra ...func(*s3ops.Options)) (*testworld.Env, *glacier.Server) {
	t.Helper()
	return glacierEnvWith(t, func(*glacier.Config) {}, extra...)
}

func archiveConfig(env *testworld.Env, a reconcile.ArchiveConfig) reconcile.Config {
	cfg := env.Config("owner-a")
	a.Rule.ID, a.DayLength = "trashd-archive", dayLength
	if a.Rule.StorageClass == "" {
		a.Rule.StorageClass = "GLACIER"
	}
	a.RestorePoll = 100 * time.Millisecond
	cfg.Archive = a
	return cfg
}

func run(t *testing.T, r *reconcile.Runner) reconcile.Summary {
	t.Helper()
	sum, err := r.Run(passCtx(t), reconcile.TriggerManual)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

// passDeadline bounds every pass a test runs: a pass that would not end (a
// brake that no longer trips, a wait that nothing ends) fails its test
// instead of hanging the package until its timeout.
const passDeadline = 2 * time.Minute

// passCtx is the context of one pass of t: it ends after passDeadline, and
// t fails if it did.
func passCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), passDeadline)
	t.Cleanup(func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("a pass did not end within %s", passDeadline)
		}
		cancel()
	})
	return ctx
}

func storageClass(t *testing.T, env *testworld.Env, bucket, key string) string {
	t.Helper()
	out, err := env.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	testworld.Must(t, err)
	return string(out.StorageClass)
}

func trashKey(t *testing.T, env *testworld.Env, id int64) string {
	t.Helper()
	var k string
	testworld.Must(t, env.DB.QueryRow("SELECT trash_key FROM trash_objects WHERE lms_id = ?", id).Scan(&k))
	return k
}

func stateOf(t *testing.T, env *testworld.Env, id int64) reconcile.State {
	t.Helper()
	var s reconcile.State
	testworld.Must(t, env.DB.QueryRow("SELECT state FROM trash_objects WHERE lms_id = ?", id).Scan(&s))
	return s
}

// The whole life in accelerated time: trashd applies the rule, moves the
// file, S3 transitions it after a day, and the next pass records it archived;
// a small file is reported ineligible, not overdue.
func TestArchiveLifeInAcceleratedTime(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	big := env.AddFile(t, "lectures/big.mp4", testworld.Body("big", 200<<10), true, 0)
	small := env.AddFile(t, "notes/small.txt", testworld.Body("small", 10<<10), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{TransitionDays: 1}, LifecycleMode: reconcile.LifecycleEnforce, Grace: time.Hour,
	})
	r := env.Runner(t, cfg)

	first := run(t, r)
	if first.Counts.Moved != 2 {
		t.Fatalf("first pass %+v: want 2 moved", first.Counts)
	}
	lc, ok := r.Lifecycle()
	if !ok || lc.Err != nil || !lc.Report.InPlace() || !lc.Report.Applied {
		t.Fatalf("lifecycle after an enforcing pass: %+v", lc)
	}

	testworld.Must(t, srv.Advance(t.Context(), 2*dayLength)) // a lifecycle day passes, and S3's lifecycle runs
	ageCopies(t, env, 2*dayLength)                           // in the records too, by the database clock
	if c := storageClass(t, env, env.Trash, trashKey(t, env, big)); c != "GLACIER" {
		t.Fatalf("S3 left the big copy in %q", c)
	}
	// The emulation's own lifecycle runs in the background too: the first
	// pass may already have seen the transition.
	if second := run(t, r); first.Counts.Archived+second.Counts.Archived != 1 {
		t.Errorf("passes %+v then %+v: want 1 archived in all", first.Counts, second.Counts)
	}
	if s := stateOf(t, env, big); s != reconcile.StateArchived {
		t.Errorf("big file is %s, want archived", s)
	}
	if s := stateOf(t, env, small); s != reconcile.StateInTrash {
		t.Errorf("small file is %s, want in_trash", s)
	}
	st, err := env.Store.Archive(t.Context(), cfg.Archive.OverdueQuery())
	testworld.Must(t, err)
	if st.Ineligible != 1 || st.Overdue != 0 {
		t.Errorf("archive status %+v: want the small file ineligible and nothing overdue", st)
	}
	env.CheckInvariant(t)
}

// With no rule on the bucket (verify mode), nothing is transitioned: the
// pass says why, and copies become overdue after days + grace.
func TestArchiveMissingRuleMakesOverdue(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	id := env.AddFile(t, "a.bin", testworld.Body("a", 200<<10), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{TransitionDays: 1}, LifecycleMode: reconcile.LifecycleVerify, Grace: dayLength,
	})
	r := env.Runner(t, cfg)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("pass %+v: the moves must go on without the rule", sum.Counts)
	}
	lc, _ := r.Lifecycle()
	if lc.Report.InPlace() || !strings.Contains(strings.Join(lc.Report.Drift, " "), "trashd-archive") {
		t.Errorf("drift %v: want the missing rule named", lc.Report.Drift)
	}
	// A day of the rule, a day of rounding, a day of grace, on S3's clock
	// and in the record (its copy made that long ago, by the database's).
	testworld.Must(t, srv.Advance(t.Context(), 4*dayLength))
	ageCopies(t, env, 4*dayLength)
	run(t, r)
	if s := stateOf(t, env, id); s != reconcile.StateInTrash {
		t.Errorf("state %s, want in_trash", s)
	}
	st, err := env.Store.Archive(t.Context(), cfg.Archive.OverdueQuery())
	testworld.Must(t, err)
	if st.Overdue != 1 {
		t.Errorf("archive status %+v: want the copy overdue", st)
	}
	list, err := env.Store.Overdue(t.Context(), cfg.Archive.OverdueQuery(), 10)
	testworld.Must(t, err)
	if len(list) != 1 || list[0].LMSID != id || list[0].CheckedAt.IsZero() {
		t.Errorf("overdue list %+v: want the copy, checked", list)
	}
	env.CheckInvariant(t)
}

// Direct mode writes the archive class with the copy itself; the same pass
// confirms it.
func TestArchiveDirectMode(t *testing.T) {
	t.Parallel()
	for _, class := range []string{"GLACIER", "DEEP_ARCHIVE"} {
		t.Run(class, func(t *testing.T) {
			t.Parallel()
			env, _ := glacierEnv(t)
			id := env.AddFile(t, "direct/"+class, testworld.Body(class, 4<<10), true, 0)
			cfg := archiveConfig(env, reconcile.ArchiveConfig{
				Mode: reconcile.ArchiveDirect, Rule: reconcile.LifecycleRule{StorageClass: class}, LifecycleMode: reconcile.LifecycleOff,
			})
			sum := run(t, env.Runner(t, cfg))
			if sum.Counts.Moved != 1 || sum.Counts.Archived != 1 {
				t.Errorf("pass %+v: want 1 moved and archived", sum.Counts)
			}
			if c := storageClass(t, env, env.Trash, trashKey(t, env, id)); c != class {
				t.Errorf("copy in %q, want %s", c, class)
			}
			if s := stateOf(t, env, id); s != reconcile.StateArchived {
				t.Errorf("state %s, want archived", s)
			}
			env.CheckInvariant(t)
		})
	}
}

// Each kind of restore: the move not finished, the copy in the trash bucket,
// the copy archived (with a delayed restore), and the key taken meanwhile.
func TestRestores(t *testing.T) {
	t.Parallel()
	t.Run("source not yet deleted", func(t *testing.T) {
		t.Parallel()
		env, _ := glacierEnv(t, func(o *s3ops.Options) {
			o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
				if s3test.IsDelete(req) {
					return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
				}
				return s3test.Fault{}
			}).Client()
		})
		id := env.AddFile(t, "half/moved.doc", []byte("half moved"), true, 0)
		cfg := archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleOff})
		cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
		r := env.Runner(t, cfg)
		if sum := run(t, r); sum.Counts.Retrying != 1 || stateOf(t, env, id) != reconcile.StateCopied {
			t.Fatalf("pass %+v, state %s: want the delete failing and the record copied", sum.Counts, stateOf(t, env, id))
		}
		key := trashKey(t, env, id)
		env.Untrash(t, id)
		// The trash copy's delete goes through the faulty client too; let
		// another host (a client without the fault) restore it.
		sum := run(t, env.RunnerWithoutFaults(t, cfg))
		if sum.Counts.Restored != 1 || stateOf(t, env, id) != reconcile.StateRestored {
			t.Fatalf("restore pass %+v, state %s", sum.Counts, stateOf(t, env, id))
		}
		if _, err := env.S3.Head(t.Context(), env.Trash, key); err == nil {
			t.Errorf("the trash copy %s is still there", key)
		}
		env.CheckInvariant(t)
	})
	t.Run("in trash", func(t *testing.T) {
		t.Parallel()
		env, _ := glacierEnv(t)
		id := env.AddFile(t, "back/again.pdf", []byte("back again"), true, 0)
		cfg := archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleOff})
		r := env.Runner(t, cfg)
		run(t, r)
		key := trashKey(t, env, id)
		env.Untrash(t, id)
		if sum := run(t, r); sum.Counts.Restored != 1 || sum.Counts.Moved != 0 {
			t.Fatalf("restore pass %+v", sum.Counts)
		}
		if _, err := env.S3.Head(t.Context(), env.Trash, key); err == nil {
			t.Errorf("the trash copy %s is still there", key)
		}
		env.CheckInvariant(t)

		// Trashed again after the restore: it starts over and moves.
		dbtest.SetTrashed(t, env.DB, id, true)
		if sum := run(t, r); sum.Counts.Discovered != 1 || sum.Counts.Moved != 1 || stateOf(t, env, id) != reconcile.StateInTrash {
			t.Errorf("re-trash pass %+v, state %s: want it moved again", sum.Counts, stateOf(t, env, id))
		}
	})
	t.Run("archived", func(t *testing.T) {
		t.Parallel()
		env, srv := glacierEnv(t)
		id := env.AddFile(t, "cold/thesis.pdf", testworld.Body("thesis", 3000), true, 0)
		cfg := archiveConfig(env, reconcile.ArchiveConfig{Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff})
		r := env.Runner(t, cfg)
		if sum := run(t, r); sum.Counts.Archived != 1 {
			t.Fatalf("pass %+v: want the copy archived", sum.Counts)
		}
		env.Untrash(t, id)
		run(t, r)
		if s := stateOf(t, env, id); s != reconcile.StateRestoring {
			t.Fatalf("state %s after the first restore pass, want restoring (S3 takes time)", s)
		}
		// S3 finishes the restore when its clock says so.
		testworld.Must(t, srv.Advance(t.Context(), restoreDelay))
		due(t, env)
		if sum := run(t, r); sum.Counts.Restored != 1 || stateOf(t, env, id) != reconcile.StateRestored {
			t.Fatalf("pass once S3 restored the copy: %+v, state %s; want it restored", sum.Counts, stateOf(t, env, id))
		}
		env.CheckInvariant(t)
	})
	t.Run("key taken", func(t *testing.T) {
		t.Parallel()
		env, _ := glacierEnv(t)
		id := env.AddFile(t, "docs/report.pdf", []byte("old report"), true, 0)
		cfg := archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleOff})
		r := env.Runner(t, cfg)
		run(t, r)
		// A new file at the same key, then the old one restored.
		newer := env.AddFile(t, "docs/report.pdf", []byte("newer report"), false, 0)
		env.Untrash(t, id)
		run(t, r)
		var restoredKey, note string
		testworld.Must(t, env.DB.QueryRow("SELECT restored_key, last_error FROM trash_objects WHERE lms_id = ?", id).Scan(&restoredKey, &note))
		if restoredKey != fmt.Sprintf("docs/report.restored-%d.pdf", id) || !strings.Contains(note, "newer file") {
			t.Errorf("restored to %q (%q), want beside the original", restoredKey, note)
		}
		env.CheckInvariant(t) // the newer file is intact at the key, the old one beside it
		_ = newer
	})
}

// A row deleted from the LMS leaves its copy to the lifecycle rule.
func TestOrphanedRows(t *testing.T) {
	t.Parallel()
	env, _ := glacierEnv(t)
	id := env.AddFile(t, "gone/row.txt", []byte("row deleted"), true, 0)
	r := env.Runner(t, archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleOff}))
	run(t, r)
	_, err := env.DB.Exec("DELETE FROM files WHERE id = ?", id)
	testworld.Must(t, err)
	run(t, r)
	if s := stateOf(t, env, id); s != reconcile.StateOrphaned {
		t.Errorf("state %s, want orphaned", s)
	}
}

// glacierEnvWith is glacierEnv with the emulation configured by adjust.
func glacierEnvWith(t *testing.T, adjust func(*glacier.Config), extra ...func(*s3ops.Options)) (*testworld.Env, *glacier.Server) {
	t.Helper()
	opts := s3test.Options(t)
	creds, err := opts.Credentials.Retrieve(t.Context())
	testworld.Must(t, err)
	cfg := glacier.Config{
		Target: s3test.Endpoint(), AccessKey: creds.AccessKeyID, SecretKey: creds.SecretAccessKey,
		DayLength: dayLength,
		Restore:   map[string]time.Duration{"Expedited": 50 * time.Millisecond, "Standard": restoreDelay, "Bulk": time.Second},
	}
	adjust(&cfg)
	cfg.Clock = glacier.NewClock()
	srv := glacier.Start(t, cfg)
	env := testworld.New(t, append([]func(*s3ops.Options){func(o *s3ops.Options) { o.Endpoint = srv.URL }}, extra...)...)
	return env, srv
}

// restorePasses bounds the passes restoreWithin runs: a restore asked
// for, refused once (a tier that falls back), asked again and copied back
// takes three.
const restorePasses = 5

// restoreWithin runs passes until LMS row id is restored, moving S3's clock
// on by a restore's time between them, and fails the test after
// restorePasses passes or when the record ends restore_failed.
func restoreWithin(t *testing.T, env *testworld.Env, srv *glacier.Server, r *reconcile.Runner, id int64) {
	t.Helper()
	for pass := 1; ; pass++ {
		run(t, r)
		switch s := stateOf(t, env, id); {
		case s == reconcile.StateRestored:
			return
		case s == reconcile.StateRestoreFailed || pass == restorePasses:
			var msg string
			testworld.Must(t, env.DB.QueryRow("SELECT COALESCE(last_error, '') FROM trash_objects WHERE lms_id = ?", id).Scan(&msg))
			t.Fatalf("record %s after %d passes: %s", s, pass, msg)
		}
		testworld.Must(t, srv.Advance(t.Context(), restoreDelay))
		due(t, env)
	}
}

// Expedited has no Deep Archive: a DEEP_ARCHIVE copy is restored with the
// fallback tier (Standard) instead of failing.
func TestRestoreExpeditedFallsBackForDeepArchive(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	id := env.AddFile(t, "deep/thesis.pdf", testworld.Body("deep", 2000), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff,
		Rule: reconcile.LifecycleRule{StorageClass: "DEEP_ARCHIVE"}, RestoreTier: "Expedited"})
	r := env.Runner(t, cfg)
	if sum := run(t, r); sum.Counts.Archived != 1 {
		t.Fatalf("pass %+v: want the copy archived", sum.Counts)
	}
	env.Untrash(t, id)
	restoreWithin(t, env, srv, r, id)
	env.CheckInvariant(t)
}

// While S3 answers 503 GlacierExpeditedRetrievalNotAvailable, an Expedited
// restore falls back to Standard instead of retrying to the attempt cap.
func TestRestoreExpeditedUnavailableFallsBack(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	srv.SetExpeditedAvailable(false)
	id := env.AddFile(t, "cold/notes.pdf", testworld.Body("cold", 2000), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff,
		RestoreTier: "Expedited"})
	r := env.Runner(t, cfg)
	run(t, r)
	env.Untrash(t, id)
	restoreWithin(t, env, srv, r, id)
	env.CheckInvariant(t)

	// With the fallback off, the 503 is retried, never another tier.
	id = env.AddFile(t, "cold/other.pdf", testworld.Body("other", 2000), true, 0)
	cfg.Archive.ExpeditedFallback = reconcile.FallbackOff
	r = env.Runner(t, cfg)
	run(t, r)
	env.Untrash(t, id)
	run(t, r)
	if s := stateOf(t, env, id); s == reconcile.StateRestoring || s == reconcile.StateRestored {
		t.Errorf("record %s with the fallback off: want the Expedited restore refused, not another tier", s)
	}
}

// A restored copy that expired (its x-amz-restore lingering, with an
// expiry-date past) is restored again, not copied until the record fails:
// S3 counts a restore's days from the request.
func TestRestoreExpiredCopyIsRestoredAgain(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnvWith(t, func(c *glacier.Config) { c.LingerRestoreHeader = time.Hour })
	id := env.AddFile(t, "cold/expiring.pdf", testworld.Body("expiring", 2000), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff,
		RestoreTier: "Expedited", RestoreDays: 1})
	// The runner reads S3's clock, as a host and S3 agree on real time.
	r := env.Runner(t, cfg, reconcile.WithClock(srv.Now))
	run(t, r)
	env.Untrash(t, id)
	run(t, r)
	if s := stateOf(t, env, id); s != reconcile.StateRestoring {
		t.Fatalf("state %s after the first restore pass, want restoring", s)
	}
	// The restore is ready after Expedited's delay and gone a day after
	// the request (rounded up to a day boundary and a whole second): the
	// next pass comes after both, on S3's clock.
	key := trashKey(t, env, id)
	testworld.Must(t, srv.Advance(t.Context(), restoreDelay))
	obj, err := env.S3.Head(t.Context(), env.Trash, key)
	testworld.Must(t, err)
	if obj.Restore.Expiry.IsZero() {
		t.Fatalf("the restore is not done after its delay: %+v", obj.Restore)
	}
	if d := obj.Restore.Expiry.Sub(srv.Now()); d >= 0 {
		testworld.Must(t, srv.Advance(t.Context(), d+time.Millisecond))
	}
	obj, err = env.S3.Head(t.Context(), env.Trash, key)
	testworld.Must(t, err)
	if obj.Restore.Expiry.IsZero() || !srv.Now().After(obj.Restore.Expiry) {
		t.Fatalf("the restore did not expire: %+v", obj.Restore)
	}
	due(t, env)
	restoreWithin(t, env, srv, r, id)
	env.CheckInvariant(t)
}

// A trash copy in an Intelligent-Tiering archive tier (another rule moved
// it to INTELLIGENT_TIERING, and S3 archived it there) is not readable
// although its class does not say so: the restore sees x-amz-archive-status,
// restores it without Days, and copies it back once it is in the Frequent
// Access tier again.
func TestRestoreFromIntelligentTieringArchive(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	id := env.AddFile(t, "tiered/slides.pdf", testworld.Body("tiered", 3000), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleOff})
	r := env.Runner(t, cfg)
	run(t, r)
	key := trashKey(t, env, id)
	_, err := env.SDK.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(key),
		CopySource: aws.String(env.Trash + "/" + key), StorageClass: types.StorageClassIntelligentTiering,
		MetadataDirective: types.MetadataDirectiveCopy})
	testworld.Must(t, err)
	testworld.Must(t, srv.ArchiveIntelligentTiering(t.Context(), env.Trash, key, glacier.AccessTierDeepArchive))
	if obj, err := env.S3.Head(t.Context(), env.Trash, key); err != nil || obj.ArchiveStatus != "DEEP_ARCHIVE_ACCESS" || obj.Readable() {
		t.Fatalf("HEAD of the tiered copy: %+v, %v; want DEEP_ARCHIVE_ACCESS, not readable", obj, err)
	}
	env.Untrash(t, id)
	run(t, r)
	if s := stateOf(t, env, id); s != reconcile.StateRestoring {
		t.Fatalf("state %s after the first restore pass, want restoring", s)
	}
	restoreWithin(t, env, srv, r, id)
	env.CheckInvariant(t)
}

// overdue counts the overdue copies as status would.
func overdue(t *testing.T, env *testworld.Env, a reconcile.ArchiveConfig) int {
	t.Helper()
	st, err := env.Store.Archive(t.Context(), a.OverdueQuery())
	testworld.Must(t, err)
	return st.Overdue
}

// ageCopies makes every copy look copied d ago, by the database clock.
func ageCopies(t *testing.T, env *testworld.Env, d time.Duration) {
	t.Helper()
	_, err := env.DB.Exec("UPDATE trash_objects SET copied_at = NOW(6) - INTERVAL ? MICROSECOND", d.Microseconds())
	testworld.Must(t, err)
}

// A transition is not overdue while S3 may still be within what it
// documents: the rule's days, rounded up to the next midnight (up to a day
// more), then queued for a lifecycle run that can lag by up to the grace.
// The grace is in the ratio of the default to a real day (48h to 24h).
func TestOverdueLeavesRoomForMidnightAndLag(t *testing.T) {
	t.Parallel()
	env, _ := glacierEnv(t)
	env.AddFile(t, "late/lecture.mp4", testworld.Body("late", 200<<10), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{TransitionDays: 1}, LifecycleMode: reconcile.LifecycleVerify, Grace: 2 * dayLength,
	})
	run(t, env.Runner(t, cfg))
	// Copied just after a midnight: due almost two days later; S3's run
	// comes a day and a half after that.
	ageCopies(t, env, 1*dayLength+dayLength*99/100+dayLength*3/2)
	if n := overdue(t, env, cfg.Archive); n != 0 {
		t.Errorf("%d overdue 3.5 days after the copy, with a 1-day rule and 2 days' grace: S3 may still be on time", n)
	}
	ageCopies(t, env, 4*dayLength+dayLength/10)
	if n := overdue(t, env, cfg.Archive); n != 1 {
		t.Errorf("%d overdue past days + a day of rounding + grace, want 1", n)
	}
}

// A transition check that finds a copy in an Intelligent-Tiering archive
// tier records it archived, and status counts it there.
func TestIntelligentTieringArchiveInStatus(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	id := env.AddFile(t, "tiered/video.mp4", testworld.Body("video", 200<<10), true, 0)
	cfg := archiveConfig(env, reconcile.ArchiveConfig{LifecycleMode: reconcile.LifecycleVerify, Rule: reconcile.LifecycleRule{TransitionDays: 0}})
	r := env.Runner(t, cfg)
	run(t, r)
	key := trashKey(t, env, id)
	_, err := env.SDK.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(key),
		CopySource: aws.String(env.Trash + "/" + key), StorageClass: types.StorageClassIntelligentTiering,
		MetadataDirective: types.MetadataDirectiveCopy})
	testworld.Must(t, err)
	testworld.Must(t, srv.ArchiveIntelligentTiering(t.Context(), env.Trash, key, glacier.AccessTierArchive))
	run(t, r)
	if s := stateOf(t, env, id); s != reconcile.StateArchived {
		t.Fatalf("state %s, want archived: the copy is in an archive tier", s)
	}
	st, err := env.Store.IntelligentTiering(t.Context())
	testworld.Must(t, err)
	if st.Archived != 1 || st.ArchivedBytes != 200<<10 {
		t.Errorf("Intelligent-Tiering status %+v, want the copy counted", st)
	}
}
