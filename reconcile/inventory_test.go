package reconcile_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/inventories"
	"trashd/internal/testworld"
	"trashd/inventory"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// invOps counts the S3 operations a client sends, by operation.
type invOps struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *invOps) observe(op string, _ error, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
}

func (c *invOps) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = map[string]int{}
}

func (c *invOps) of(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// invWorld is a world whose runner's S3 requests are counted, with a bucket
// of its own where the tests write inventory reports.
type invWorld struct {
	*testworld.Env
	ops   *invOps
	dest  string
	store inventory.Store
	place reconcile.InventoryPlace
}

func newInvWorld(t *testing.T) *invWorld {
	t.Helper()
	ops := &invOps{n: map[string]int{}}
	env := testworld.New(t, func(o *s3ops.Options) { o.Observe = ops.observe })
	reports := s3test.NewClient(t, s3test.Options(t))
	dest := s3test.NewBucket(t, env.SDK, "inv")
	return &invWorld{Env: env, ops: ops, dest: dest, store: reports.InventoryStore(),
		place: reconcile.InventoryPlace{Bucket: dest, Prefix: "reports", ID: "trashd-inventory"}}
}

// waitingConfig: copies land in STANDARD and wait for a transition that is
// due at once (0 days), with HEAD checks of every size.
func (w *invWorld) waitingConfig() reconcile.Config {
	cfg := w.Config("owner-inv")
	cfg.Archive = reconcile.ArchiveConfig{
		Rule:          reconcile.LifecycleRule{ID: "trashd-archive", StorageClass: "GLACIER", MinSize: 1},
		LifecycleMode: reconcile.LifecycleVerify, DayLength: dayLength,
	}
	return cfg
}

// use is the inventory wiring of a runner over w; logs go to log.
func (w *invWorld) use(maxAge time.Duration, seen *[]time.Time) reconcile.InventoryUse {
	cfg := reconcile.InventoryConfig{Trash: w.place, MaxAge: maxAge}
	return reconcile.InventoryUse{
		Reports: inventories.Reports{Store: w.store, Trash: w.Trash, Config: cfg},
		Records: w.Store, Config: cfg,
		Observe: func(_ string, created time.Time) { *seen = append(*seen, created) },
	}
}

// copyOf is what S3 holds at the trash key of LMS row id.
type copyOf struct {
	key  string
	size int64
	etag string
}

func (w *invWorld) copyOf(t *testing.T, id int64) copyOf {
	t.Helper()
	key := trashKey(t, w.Env, id)
	out, err := w.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(w.Trash), Key: aws.String(key)})
	testworld.Must(t, err)
	return copyOf{key: key, size: aws.ToInt64(out.ContentLength), etag: strings.Trim(aws.ToString(out.ETag), `"`)}
}

// writeReport writes a report of the trash bucket taken at created.
func (w *invWorld) writeReport(t *testing.T, created time.Time, format string, schema []string, rows []inventory.Row) {
	t.Helper()
	loc := inventory.Location{Bucket: w.dest, Prefix: w.place.Prefix, SourceBucket: w.Trash, ConfigID: w.place.ID}
	_, err := inventory.Write(t.Context(), w.store, loc, created, format, schema, func(yield func(inventory.Row) bool) {
		for _, r := range rows {
			r.Bucket = w.Trash
			if !yield(r) {
				return
			}
		}
	})
	testworld.Must(t, err)
}

// dbNow is the database's clock, which records' times are on.
func (w *invWorld) dbNow(t *testing.T) time.Time {
	t.Helper()
	var now time.Time
	testworld.Must(t, w.DB.QueryRow("SELECT NOW(6)").Scan(&now))
	return now
}

// toGlacier rewrites the trash copy at key in GLACIER, as a lifecycle
// transition would: same bytes, same ETag.
func (w *invWorld) toGlacier(t *testing.T, key string) {
	t.Helper()
	_, err := w.SDK.CopyObject(t.Context(), &s3.CopyObjectInput{
		Bucket: aws.String(w.Trash), Key: aws.String(key), CopySource: aws.String(w.Trash + "/" + key),
		StorageClass: types.StorageClassGlacier, MetadataDirective: types.MetadataDirectiveCopy,
	})
	testworld.Must(t, err)
	if c := storageClass(t, w.Env, w.Trash, key); c != "GLACIER" {
		t.Fatalf("the copy at %s is in %q after a copy in GLACIER", key, c)
	}
}

// A pass with a fresh report confirms from it what it lists intact in the
// archive class, and HEADs only the rest: a record the report lists in
// STANDARD (the HEAD, which says GLACIER, wins), one it lists with other
// bytes, one it does not list, and one copied after the report was taken
// (the report's row for it is not trusted). Both formats; in CSV the
// columns come in another order than S3's.
func TestConfirmTransitionsFromInventory(t *testing.T) {
	t.Parallel()
	for _, format := range []string{inventory.FormatParquet, inventory.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			w := newInvWorld(t)
			names := []string{"a/listed 1.pdf", "b/listed+2 ü.pdf", "c/standard.pdf", "d/other-bytes.pdf", "e/unlisted.pdf"}
			ids := make([]int64, len(names))
			for i, n := range names {
				ids[i] = w.AddFile(t, n, testworld.Body(n, 2000+i), true, 0)
			}
			cfg := w.waitingConfig()
			if sum := run(t, w.Runner(t, cfg)); sum.Counts.Moved != len(names) || sum.Counts.Archived != 0 {
				t.Fatalf("first pass %+v: want every file moved, none archived (the copies are STANDARD)", sum.Counts)
			}
			created := w.dbNow(t)
			late := w.AddFile(t, "f/copied-after.pdf", testworld.Body("late", 3000), true, 0)
			if sum := run(t, w.Runner(t, cfg)); sum.Counts.Moved != 1 {
				t.Fatalf("second pass %+v: want the late file moved", sum.Counts)
			}
			copies := map[int64]copyOf{}
			for _, id := range append(ids, late) {
				copies[id] = w.copyOf(t, id)
			}
			// S3 has transitioned the STANDARD-listed copy since the report.
			w.toGlacier(t, copies[ids[2]].key)
			row := func(id int64, class string) inventory.Row {
				c := copies[id]
				return inventory.Row{Key: c.key, IsLatest: true, Size: c.size, ETag: c.etag, StorageClass: class, LastModified: created.Add(-time.Hour)}
			}
			other := row(ids[3], "GLACIER")
			other.ETag = "0123456789abcdef0123456789abcdef"
			rows := []inventory.Row{row(ids[0], "GLACIER"), row(ids[1], "DEEP_ARCHIVE"), row(ids[2], "STANDARD"), other, row(late, "GLACIER"),
				{Key: "not-a-trash-copy.txt", IsLatest: true, Size: 5, ETag: "ffff", StorageClass: "GLACIER"}}
			schema := inventory.DefaultSchema(false)
			if format == inventory.FormatCSV {
				schema = []string{"Bucket", "Key", "StorageClass", "ETag", "LastModifiedDate", "Size"}
			}
			w.writeReport(t, created, format, schema, rows)

			var seen []time.Time
			w.ops.reset()
			sum := run(t, w.Runner(t, cfg, reconcile.WithInventory(w.use(48*time.Hour, &seen))))
			if len(seen) != 1 || !seen[0].Equal(created.Truncate(time.Millisecond)) {
				t.Errorf("reports observed %v, want the one taken at %v", seen, created)
			}
			if got := w.ops.of("HeadObject"); got != 4 {
				t.Errorf("%d HEADs, want 4: the STANDARD-listed, other-bytes, unlisted and late copies, none of the two the report confirmed", got)
			}
			want := map[int64]reconcile.State{
				ids[0]: reconcile.StateArchived, ids[1]: reconcile.StateArchived,
				ids[2]: reconcile.StateArchived, // the HEAD said GLACIER
				ids[3]: reconcile.StateInTrash, ids[4]: reconcile.StateInTrash, late: reconcile.StateInTrash,
			}
			for id, s := range want {
				if got := stateOf(t, w.Env, id); got != s {
					t.Errorf("LMS row %d (%s): %s, want %s", id, copies[id].key, got, s)
				}
			}
			if sum.Counts.Archived != 3 {
				t.Errorf("pass counted %d archived, want 3", sum.Counts.Archived)
			}
			var class string
			testworld.Must(t, w.DB.QueryRow("SELECT storage_class FROM trash_objects WHERE lms_id = ?", ids[1]).Scan(&class))
			if class != "DEEP_ARCHIVE" {
				t.Errorf("record of the DEEP_ARCHIVE row says %q", class)
			}
			w.CheckInvariant(t)
		})
	}
}

// A report older than the maximum age is not used: the pass HEADs every
// waiting copy, as without one, and says why in its log.
func TestConfirmTransitionsStaleInventoryFallsBack(t *testing.T) {
	t.Parallel()
	w := newInvWorld(t)
	ids := []int64{w.AddFile(t, "stale/1.pdf", testworld.Body("s1", 1000), true, 0), w.AddFile(t, "stale/2.pdf", testworld.Body("s2", 1000), true, 0)}
	cfg := w.waitingConfig()
	run(t, w.Runner(t, cfg))
	created := w.dbNow(t)
	var rows []inventory.Row
	for _, id := range ids {
		c := w.copyOf(t, id)
		rows = append(rows, inventory.Row{Key: c.key, IsLatest: true, Size: c.size, ETag: c.etag, StorageClass: "GLACIER"})
	}
	w.writeReport(t, created, inventory.FormatParquet, inventory.DefaultSchema(false), rows)

	var (
		seen []time.Time
		logs bytes.Buffer
	)
	use := w.use(time.Hour, &seen)
	r, err := reconcile.NewRunner(w.Store, w.S3, cfg, slog.New(slog.NewTextHandler(&logs, nil)), reconcile.WithInventory(use),
		reconcile.WithClock(func() time.Time { return created.Add(3 * time.Hour) }))
	testworld.Must(t, err)
	w.ops.reset()
	sum := run(t, r)
	if got := w.ops.of("HeadObject"); got != 2 {
		t.Errorf("%d HEADs, want 2: every waiting copy, the report being too old", got)
	}
	for _, id := range ids {
		if s := stateOf(t, w.Env, id); s != reconcile.StateInTrash {
			t.Errorf("LMS row %d %s, want in_trash: a stale report confirms nothing (the copies are STANDARD)", id, s)
		}
	}
	if sum.Counts.Archived != 0 {
		t.Errorf("pass counted %d archived, want 0", sum.Counts.Archived)
	}
	if !strings.Contains(logs.String(), "older than TRASHD_INVENTORY_MAX_AGE") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("log does not warn of the stale report:\n%s", logs.String())
	}
	if len(seen) != 1 {
		t.Errorf("reports observed %v, want the stale one (its age is a metric)", seen)
	}
}

// A report whose manifest does not match its checksum is refused: the pass
// confirms with HEAD and warns.
func TestConfirmTransitionsBadReportFallsBack(t *testing.T) {
	t.Parallel()
	w := newInvWorld(t)
	id := w.AddFile(t, "bad/1.pdf", testworld.Body("b1", 1000), true, 0)
	cfg := w.waitingConfig()
	run(t, w.Runner(t, cfg))
	c := w.copyOf(t, id)
	created := w.dbNow(t)
	w.writeReport(t, created, inventory.FormatCSV, inventory.DefaultSchema(false),
		[]inventory.Row{{Key: c.key, IsLatest: true, Size: c.size, ETag: c.etag, StorageClass: "GLACIER"}})
	key := fmt.Sprintf("reports/%s/trashd-inventory/%s/manifest.checksum", w.Trash, created.UTC().Truncate(time.Millisecond).Format("2006-01-02T15-04Z"))
	s3test.PutObject(t, w.SDK, w.dest, key, []byte("00000000000000000000000000000000"))

	var (
		seen []time.Time
		logs bytes.Buffer
	)
	r, err := reconcile.NewRunner(w.Store, w.S3, cfg, slog.New(slog.NewTextHandler(&logs, nil)), reconcile.WithInventory(w.use(48*time.Hour, &seen)))
	testworld.Must(t, err)
	w.ops.reset()
	run(t, r)
	if got := w.ops.of("HeadObject"); got != 1 {
		t.Errorf("%d HEADs, want 1", got)
	}
	if s := stateOf(t, w.Env, id); s != reconcile.StateInTrash {
		t.Errorf("record %s, want in_trash: a refused report confirms nothing", s)
	}
	if !strings.Contains(logs.String(), "no usable inventory report") {
		t.Errorf("log does not say the report was refused:\n%s", logs.String())
	}
}

// The demo's flow: trashd puts the inventory configuration on the trash
// bucket, the Glacier emulation transitions the copies and writes its
// daily report, and the next pass confirms every transition from the
// report without a single HEAD.
func TestConfirmTransitionsFromEmulatedInventory(t *testing.T) {
	t.Parallel()
	ops := &invOps{n: map[string]int{}}
	env, srv := glacierEnv(t, func(o *s3ops.Options) { o.Observe = ops.observe })
	dest := s3test.NewBucket(t, env.SDK, "inv")
	place := reconcile.InventoryPlace{Bucket: dest, Prefix: "trashd", ID: "trashd-inventory"}
	testworld.Must(t, env.S3.PutInventoryConfiguration(t.Context(), env.Trash, s3ops.DesiredInventory(place.ID, dest, place.Prefix, false)))
	var ids []int64
	for i := range 3 {
		ids = append(ids, env.AddFile(t, fmt.Sprintf("lectures/week %d.mp4", i), testworld.Body(fmt.Sprint("week", i), 200<<10), true, 0))
	}
	cfg := archiveConfig(env, reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{TransitionDays: 1}, LifecycleMode: reconcile.LifecycleEnforce, Grace: time.Hour,
	})
	inv := reconcile.InventoryConfig{Trash: place, MaxAge: 48 * time.Hour}
	var seen []time.Time
	r := env.Runner(t, cfg, reconcile.WithInventory(reconcile.InventoryUse{
		Reports: inventories.Reports{Store: env.S3.InventoryStore(), Trash: env.Trash, Config: inv},
		Records: env.Store, Config: inv, Observe: func(_ string, c time.Time) { seen = append(seen, c) },
	}))
	if sum := run(t, r); sum.Counts.Moved != 3 {
		t.Fatalf("first pass %+v: want 3 moved", sum.Counts)
	}
	// Two days for the transition, then a third, whose sweep lists the
	// bucket after it: a sweep writes its report before its transitions.
	testworld.Must(t, srv.Advance(t.Context(), 2*dayLength))
	testworld.Must(t, srv.Advance(t.Context(), dayLength))
	ageCopies(t, env, 3*dayLength)
	for _, id := range ids {
		if c := storageClass(t, env, env.Trash, trashKey(t, env, id)); c != "GLACIER" {
			t.Fatalf("the emulation left LMS row %d's copy in %q", id, c)
		}
	}
	ops.reset()
	sum := run(t, r)
	for _, id := range ids {
		if s := stateOf(t, env, id); s != reconcile.StateArchived {
			t.Errorf("LMS row %d %s, want archived", id, s)
		}
	}
	if sum.Counts.Archived != 3 {
		t.Errorf("pass %+v: want 3 archived", sum.Counts)
	}
	if n := ops.of("HeadObject"); n != 0 {
		t.Errorf("%d HEADs, want none: the report confirms every copy", n)
	}
	if len(seen) == 0 {
		t.Error("no report was read")
	}
}
