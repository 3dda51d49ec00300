// Package testworld sets up a whole trashd world for tests: a fresh
// database with trashd's tables and a sample LMS table, a source and a trash
// bucket on the real S3-compatible server, objects whose bytes the test
// remembers, and the invariant check that every trashed file exists intact
// in the source or in the trash bucket, never in neither. Import it only from
// _test files.
package testworld

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// Env is one test's world. Fields are set by New and read-only after.
type Env struct {
	DB        *sql.DB
	DBOptions db.Options
	LMS       db.LMSTable
	Store     *db.Store
	S3Options s3ops.Options
	S3        *s3ops.Client
	SDK       *s3.Client
	Source    string // source bucket
	Trash     string // trash bucket
	// Server is the S3 server the buckets are on (SeaweedFS for New).
	Server s3test.Server

	checker *s3ops.Client // without the test's faults, for CheckInvariant
	mu      sync.Mutex
	files   map[int64]file
}

type file struct {
	key       string
	sum       [32]byte // SHA-256 of the bytes, nil sum for rows without an object
	size      int64
	trashed   bool
	untrashed bool // trashed, then restored by the LMS (Untrash)
	exists    bool // an object was uploaded for the row
}

// New sets up a fresh database, LMS table and buckets for tb, on
// SeaweedFS. opts adjust the S3 options (a lowered multipart threshold, a
// fault-injecting client) before the client is built.
func New(tb testing.TB, opts ...func(*s3ops.Options)) *Env {
	tb.Helper()
	return NewOn(tb, s3test.SeaweedFS(), opts...)
}

// NewOn is New with the buckets on server: moto or versitygw from the test
// package's s3test.Servers, say. CheckInvariant reads objects back, so call
// it only while no copy it would read is archived (on a server with
// FeatureArchive).
func NewOn(tb testing.TB, server s3test.Server, opts ...func(*s3ops.Options)) *Env {
	tb.Helper()
	sqlDB, dbOpts := dbtest.Migrated(tb)
	lms := dbtest.CreateFiles(tb, sqlDB, "flag")
	s3opts := s3test.OptionsFor(tb, server)
	// Conditional deletes on, as production defaults them.
	s3opts.ConditionalDelete = true
	checker := s3test.NewClient(tb, s3opts)
	sdk := checker.S3()
	for _, o := range opts {
		o(&s3opts)
	}
	e := &Env{
		DB: sqlDB, DBOptions: dbOpts, S3Options: s3opts, SDK: sdk, checker: checker, Server: server,
		S3:     s3test.NewClient(tb, s3opts),
		Source: s3test.NewBucket(tb, sdk, "src"),
		Trash:  s3test.NewBucket(tb, sdk, "trash"),
		files:  map[int64]file{},
	}
	lms.DefaultBucket = e.Source
	e.LMS = lms
	store, err := db.NewStore(tb.Context(), sqlDB, lms)
	if err != nil {
		tb.Fatalf("db.NewStore: %v", err)
	}
	e.Store = store
	return e
}

// AddFile uploads body under key in the source bucket (in parts of partSize,
// with opts applied to the upload, when partSize > 0) and inserts its LMS row.
func (e *Env) AddFile(tb testing.TB, key string, body []byte, trashed bool, partSize int64, opts ...func(*s3.CreateMultipartUploadInput)) int64 {
	tb.Helper()
	if partSize > 0 {
		s3test.PutMultipart(tb, e.SDK, e.Source, key, body, int(partSize), opts...)
	} else {
		s3test.PutObject(tb, e.SDK, e.Source, key, body)
	}
	id := dbtest.InsertFile(tb, e.DB, "", key, trashed)
	e.remember(id, file{key: key, sum: sha256.Sum256(body), size: int64(len(body)), trashed: trashed, exists: true})
	return id
}

// AddSharedRow inserts another LMS row naming the object of LMS row id (as
// a content-addressed LMS does), trashed or not.
func (e *Env) AddSharedRow(tb testing.TB, id int64, trashed bool) int64 {
	tb.Helper()
	e.mu.Lock()
	f := e.files[id]
	e.mu.Unlock()
	other := dbtest.InsertFile(tb, e.DB, "", f.key, trashed)
	f.trashed, f.untrashed = trashed, false
	e.remember(other, f)
	return other
}

// TrashRow sets LMS row id's trash flag, as a user deleting the file would.
func (e *Env) TrashRow(tb testing.TB, id int64) {
	tb.Helper()
	dbtest.SetTrashed(tb, e.DB, id, true)
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.files[id]
	f.trashed = true
	e.files[id] = f
}

// AddRow inserts an LMS row whose object was never uploaded.
func (e *Env) AddRow(tb testing.TB, key string, trashed bool) int64 {
	tb.Helper()
	id := dbtest.InsertFile(tb, e.DB, "", key, trashed)
	e.remember(id, file{key: key, trashed: trashed})
	return id
}

// Replace uploads new bytes for LMS row id's object, as a user overwriting
// the file would; the invariant then expects the new bytes.
func (e *Env) Replace(tb testing.TB, id int64, body []byte) {
	tb.Helper()
	e.mu.Lock()
	f := e.files[id]
	e.mu.Unlock()
	s3test.PutObject(tb, e.SDK, e.Source, f.key, body)
	f.sum, f.size, f.exists = sha256.Sum256(body), int64(len(body)), true
	e.remember(id, f)
}

// Untrash clears LMS row id's trash flag, as a user restoring the file from
// the LMS's trash would; the invariant then expects the file back.
func (e *Env) Untrash(tb testing.TB, id int64) {
	tb.Helper()
	dbtest.SetTrashed(tb, e.DB, id, false)
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.files[id]
	f.trashed, f.untrashed = false, true
	e.files[id] = f
}

// Forget tells the invariant that LMS row id's current bytes are whatever
// is at its key now (the test wrote a new file there).
func (e *Env) Forget(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.files, id)
}

func (e *Env) remember(id int64, f file) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.files[id] = f
}

// Config returns a runner configuration for this world: small batches and a
// short lease so tests exercise paging and renewal.
func (e *Env) Config(owner string) reconcile.Config {
	return reconcile.Config{
		TrashBucket:  e.Trash,
		SourceBucket: e.Source,
		Owner:        owner,
		Host:         "test",
		BatchSize:    7,
		Concurrency:  4,
		Lease:        30 * time.Second,
		MaxAttempts:  3,
		FailAfter:    time.Microsecond, // by the count alone
		BackoffBase:  time.Millisecond,
		BackoffMax:   time.Millisecond,
		Mass:         reconcile.MassLimits{Allow: true},
	}
}

// Runner returns a runner over this world's store and client.
func (e *Env) Runner(tb testing.TB, cfg reconcile.Config, opts ...reconcile.Option) *reconcile.Runner {
	tb.Helper()
	r, err := reconcile.NewRunner(e.Store, e.S3, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		tb.Fatalf("reconcile.NewRunner: %v", err)
	}
	return r
}

// RunnerWithoutFaults returns a runner over e's store with an S3 client
// that has none of the test's faults: another host, in effect.
func (e *Env) RunnerWithoutFaults(tb testing.TB, cfg reconcile.Config) *reconcile.Runner {
	tb.Helper()
	r, err := reconcile.NewRunner(e.Store, e.checker, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatalf("reconcile.NewRunner: %v", err)
	}
	return r
}

// Vars returns the TRASHD_* and AWS_* variables that point a trashd process
// at this world.
func (e *Env) Vars() []string {
	creds, _ := e.S3Options.Credentials.Retrieve(nil)
	return []string{
		"TRASHD_MYSQL_HOST=" + e.DBOptions.Host,
		"TRASHD_MYSQL_PORT=" + strconv.Itoa(e.DBOptions.Port),
		"TRASHD_MYSQL_USER=" + e.DBOptions.User,
		"TRASHD_MYSQL_PASSWORD=" + e.DBOptions.Password,
		"TRASHD_MYSQL_DATABASE=" + e.DBOptions.Database,
		"TRASHD_MYSQL_TLS=false",
		"TRASHD_LMS_TABLE=" + e.LMS.Table,
		"TRASHD_LMS_ID_COLUMN=" + e.LMS.IDColumn,
		"TRASHD_LMS_KEY_COLUMN=" + e.LMS.KeyColumn,
		"TRASHD_LMS_TRASH_COLUMN=" + e.LMS.TrashColumn,
		"TRASHD_LMS_TRASH_KIND=" + e.LMS.TrashKind,
		"TRASHD_S3_ENDPOINT=" + e.S3Options.Endpoint,
		"TRASHD_S3_REGION=" + e.S3Options.Region,
		"TRASHD_S3_PATH_STYLE=true",
		"TRASHD_S3_CHECKSUMS=when_required",
		"TRASHD_SOURCE_BUCKET=" + e.Source,
		"TRASHD_TRASH_BUCKET=" + e.Trash,
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// States counts trashd's records per state.
func (e *Env) States(tb testing.TB) map[reconcile.State]int {
	tb.Helper()
	rows, err := e.DB.QueryContext(tb.Context(), "SELECT state, COUNT(*) FROM trash_objects GROUP BY state")
	if err != nil {
		tb.Fatalf("count states: %v", err)
	}
	defer rows.Close()
	got := map[reconcile.State]int{}
	for rows.Next() {
		var s reconcile.State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			tb.Fatal(err)
		}
		got[s] = n
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return got
}

// CheckInvariant fails tb unless every trashed row that had an object has
// it, byte for byte, in the source bucket or at its recorded trash key;
// every record in_trash has no source left; and every row the LMS un-trashed
// has its file back at its key (or beside it) once restored.
func (e *Env) CheckInvariant(tb testing.TB) {
	tb.Helper()
	type rec struct {
		state       reconcile.State
		trashKey    sql.NullString
		restoredKey sql.NullString
	}
	records := map[int64]rec{}
	rows, err := e.DB.QueryContext(tb.Context(), "SELECT lms_id, state, trash_key, restored_key FROM trash_objects")
	if err != nil {
		tb.Fatalf("read records: %v", err)
	}
	for rows.Next() {
		var id int64
		var r rec
		if err := rows.Scan(&id, &r.state, &r.trashKey, &r.restoredKey); err != nil {
			tb.Fatal(err)
		}
		records[id] = r
	}
	rows.Close()

	e.mu.Lock()
	defer e.mu.Unlock()
	for id, f := range e.files {
		if !f.exists {
			continue
		}
		r, ok := records[id]
		if ok && r.state == reconcile.StateRestored {
			if !e.intact(tb, e.Source, r.restoredKey.String, f) {
				tb.Errorf("LMS row %d (%q) is restored but s3://%s/%s does not hold it", id, f.key, e.Source, r.restoredKey.String)
			}
			continue
		}
		inSource := e.intact(tb, e.Source, f.key, f)
		inTrash := ok && r.trashKey.Valid && e.intact(tb, e.Trash, r.trashKey.String, f)
		if !inSource && !inTrash {
			tb.Errorf("LMS row %d (%q): the object is in neither the source nor the trash bucket (record %+v)", id, f.key, r)
		}
		if ok && r.state == reconcile.StateInTrash && inSource && !e.liveLocked(f.key) {
			tb.Errorf("LMS row %d (%q) is in_trash but its source still exists", id, f.key)
		}
		if !f.trashed && !ok && !inSource {
			tb.Errorf("LMS row %d (%q) was never trashed but its object is gone", id, f.key)
		}
		if !f.trashed && !f.untrashed && ok {
			tb.Errorf("LMS row %d (%q) was never trashed but has a record (%s)", id, f.key, r.state)
		}
	}
}

// liveLocked reports whether an untrashed row names key; e.mu is held.
func (e *Env) liveLocked(key string) bool {
	for _, f := range e.files {
		if f.key == key && !f.trashed {
			return true
		}
	}
	return false
}

// intact reports whether bucket/key holds exactly f's bytes.
func (e *Env) intact(tb testing.TB, bucket, key string, f file) bool {
	tb.Helper()
	if _, err := e.checker.Head(tb.Context(), bucket, key); errors.Is(err, reconcile.ErrNotFound) {
		return false
	} else if err != nil {
		tb.Fatalf("head s3://%s/%s: %v", bucket, key, err)
	}
	out, err := e.SDK.GetObject(tb.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		tb.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		tb.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	if n != f.size || !bytes.Equal(h.Sum(nil), f.sum[:]) {
		tb.Errorf("s3://%s/%s exists but differs from what was uploaded (%d bytes, want %d)", bucket, key, n, f.size)
		return false
	}
	return true
}

// Body returns n deterministic pseudo-random bytes for seed.
func Body(seed string, n int) []byte {
	b := make([]byte, 0, n+32)
	sum := sha256.Sum256([]byte(seed))
	for len(b) < n {
		b = append(b, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return b[:n]
}

// Must fails tb on err.
func Must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
