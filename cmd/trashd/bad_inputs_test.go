package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/s3ops/s3test"
)

// fingerprint is everything a bad input could damage: a checksum of every
// row of every table in the world's database (trashd's and the LMS's), the
// number of trash_runs rows, and a listing of both buckets with ETags.
type fingerprint struct {
	tables  map[string]string // table: SHA-256 of its rows, all columns as text
	runs    int               // rows in trash_runs
	buckets map[string]string // bucket: "key etag" lines
}

func takeFingerprint(t *testing.T, env *testworld.Env) fingerprint {
	t.Helper()
	ctx := t.Context()
	fp := fingerprint{tables: map[string]string{}, buckets: map[string]string{}}
	rows, err := env.DB.QueryContext(ctx, "SHOW TABLES")
	if err != nil {
		t.Fatalf("show tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		fp.tables[table] = tableSum(t, env.DB, table)
	}
	if err := env.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM trash_runs").Scan(&fp.runs); err != nil {
		t.Fatalf("count runs: %v", err)
	}
	for _, bucket := range []string{env.Source, env.Trash} {
		fp.buckets[bucket] = listing(t, env.SDK, bucket)
	}
	return fp
}

// tableSum is the SHA-256 of every row of table in primary-key order.
func tableSum(t *testing.T, d *sql.DB, table string) string {
	t.Helper()
	rows, err := d.QueryContext(t.Context(), "SELECT * FROM `"+table+"` ORDER BY 1")
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintln(h, strings.Join(cols, "\t"))
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, v := range vals {
			if v.Valid {
				fmt.Fprintf(h, "%q\t", v.String)
			} else {
				fmt.Fprint(h, "NULL\t")
			}
		}
		fmt.Fprintln(h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listing is every object of bucket with its ETag, one a line, by key.
func listing(t *testing.T, c *s3.Client, bucket string) string {
	t.Helper()
	var lines []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			lines = append(lines, aws.ToString(o.Key)+" "+aws.ToString(o.ETag))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// diff says what differs between a (before) and b (after); "" when nothing.
func (a fingerprint) diff(b fingerprint) string {
	var out []string
	for table, sum := range a.tables {
		if b.tables[table] != sum {
			out = append(out, "table "+table+" changed")
		}
	}
	for table := range b.tables {
		if _, ok := a.tables[table]; !ok {
			out = append(out, "table "+table+" appeared")
		}
	}
	if a.runs != b.runs {
		out = append(out, fmt.Sprintf("trash_runs has %d rows, had %d (a pass started)", b.runs, a.runs))
	}
	for bucket, l := range a.buckets {
		if b.buckets[bucket] != l {
			out = append(out, fmt.Sprintf("bucket %s changed:\nbefore:\n%s\nafter:\n%s", bucket, l, b.buckets[bucket]))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// trashdQuick runs the binary like trashd, but gives up after limit: a bad
// input must be refused at once, never hang.
func trashdQuick(t *testing.T, limit time.Duration, vars []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := command(ctx, vars, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("trashd %v still running after %s\nstderr:\n%s", args, limit, errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run trashd %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// badWorld is a world with something to lose: files moved already (a
// record in_trash, the copy in the trash bucket), files trashed but not yet
// moved, live files, and extra LMS tables of the wrong shape.
type badWorld struct {
	env     *testworld.Env
	vars    []string
	moved   []int64 // trashed in the LMS, moved to the trash bucket
	pending []int64 // trashed in the LMS, not moved yet
	live    []int64 // not trashed
}

func newBadWorld(t *testing.T) *badWorld {
	t.Helper()
	env := testworld.New(t)
	w := &badWorld{env: env}
	w.vars = with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off")
	for i := range 3 {
		w.moved = append(w.moved, env.AddFile(t, fmt.Sprintf("moved/%d.txt", i), []byte("moved "+strconv.Itoa(i)), true, 0))
		w.live = append(w.live, env.AddFile(t, fmt.Sprintf("live/%d.txt", i), []byte("live "+strconv.Itoa(i)), false, 0))
	}
	if r := trashd(t, w.vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, w.vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for i := range 3 {
		w.pending = append(w.pending, env.AddFile(t, fmt.Sprintf("pending/%d.txt", i), []byte("pending "+strconv.Itoa(i)), true, 0))
	}
	for _, stmt := range []string{
		// The LMS table without its index on the key column.
		"CREATE TABLE files_noindex LIKE files",
		"ALTER TABLE files_noindex DROP INDEX files_key",
		"INSERT INTO files_noindex SELECT * FROM files",
		// Columns of the wrong types.
		`CREATE TABLE files_types (
			id      VARCHAR(36)  NOT NULL PRIMARY KEY,
			s3_key  BIGINT       NOT NULL,
			trashed VARCHAR(8)   NOT NULL DEFAULT 'no',
			INDEX files_types_key (s3_key)
		) ENGINE = InnoDB`,
		"INSERT INTO files_types VALUES ('a', 1, 'yes')",
	} {
		if _, err := env.DB.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return w
}

type badCase struct {
	name  string
	vars  []string // overrides of the world's variables
	args  []string // the command and its arguments
	code  int
	wants []string // in stderr (or stdout): the thing named, and what to do
	// runs is how many passes start and end in error (an environment fault
	// found by the pass's own checks): each adds one trash_runs row with
	// status error, and nothing else changes. 0: refused before any pass.
	runs int
}

func TestBadInputs(t *testing.T) {
	w := newBadWorld(t)
	env := w.env
	secret := ""
	for _, v := range w.vars {
		if s, ok := strings.CutPrefix(v, "AWS_SECRET_ACCESS_KEY="); ok {
			secret = s
		}
	}
	const (
		badPassword = "not-the-password-7f3a9c"
		badSecret   = "not-the-secret-5e1b2d"
	)
	fast := []string{"TRASHD_MYSQL_DIAL_TIMEOUT=1s", "TRASHD_MYSQL_READ_TIMEOUT=2s", "TRASHD_MYSQL_WRITE_TIMEOUT=2s"}
	movedID := strconv.FormatInt(w.moved[0], 10)
	liveID := strconv.FormatInt(w.live[0], 10)
	socket := filepath.Join(t.TempDir(), "no-service.sock")

	cases := []badCase{
		// Values that do not parse.
		{"int not a number", []string{"TRASHD_CONCURRENCY=lots"}, []string{"reconcile"}, 2, []string{"TRASHD_CONCURRENCY", "lots"}, 0},
		{"int with a unit", []string{"TRASHD_BATCH_SIZE=100rows"}, []string{"reconcile"}, 2, []string{"TRASHD_BATCH_SIZE"}, 0},
		{"port not a number", []string{"TRASHD_MYSQL_PORT=mysql"}, []string{"status"}, 2, []string{"TRASHD_MYSQL_PORT"}, 0},
		{"duration without a unit", []string{"TRASHD_LEASE=1"}, []string{"reconcile"}, 2, []string{"TRASHD_LEASE"}, 0},
		{"duration in words", []string{"TRASHD_BACKOFF_BASE=soon"}, []string{"reconcile"}, 2, []string{"TRASHD_BACKOFF_BASE", "soon"}, 0},
		{"dial timeout unparsable", []string{"TRASHD_MYSQL_DIAL_TIMEOUT=fast"}, []string{"status"}, 2, []string{"TRASHD_MYSQL_DIAL_TIMEOUT"}, 0},
		{"size unparsable", []string{"TRASHD_MULTIPART_THRESHOLD=huge"}, []string{"reconcile"}, 2, []string{"TRASHD_MULTIPART_THRESHOLD", "huge"}, 0},
		{"size unknown unit", []string{"TRASHD_PART_SIZE=8 parsecs"}, []string{"reconcile"}, 2, []string{"TRASHD_PART_SIZE"}, 0},
		{"bool unparsable", []string{"TRASHD_S3_PATH_STYLE=maybe"}, []string{"reconcile"}, 2, []string{"TRASHD_S3_PATH_STYLE", "maybe"}, 0},
		{"bool delete after head", []string{"TRASHD_S3_DELETE_AFTER_HEAD=yesplease"}, []string{"reconcile"}, 2, []string{"TRASHD_S3_DELETE_AFTER_HEAD"}, 0},
		{"forbid an unknown condition", []string{"TRASHD_S3_FORBID=delete_if_match,if_modified_since"}, []string{"reconcile"}, 2, []string{"TRASHD_S3_FORBID", "if_modified_since", "batch_delete_etag"}, 0},
		{"bool allow mass change", []string{"TRASHD_ALLOW_MASS_CHANGE=always"}, []string{"reconcile"}, 2, []string{"TRASHD_ALLOW_MASS_CHANGE"}, 0},
		{"bool unique keys", []string{"TRASHD_LMS_UNIQUE_KEYS=perhaps"}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_UNIQUE_KEYS"}, 0},
		{"share unparsable", []string{"TRASHD_MASS_CHANGE_SHARE=half"}, []string{"reconcile"}, 2, []string{"TRASHD_MASS_CHANGE_SHARE"}, 0},
		{"share NaN", []string{"TRASHD_MASS_CHANGE_SHARE=NaN"}, []string{"reconcile"}, 2, []string{"TRASHD_MASS_CHANGE_SHARE"}, 0},
		{"share over one", []string{"TRASHD_MASS_CHANGE_SHARE=1.5"}, []string{"reconcile"}, 2, []string{"TRASHD_MASS_CHANGE_SHARE"}, 0},
		{"price unparsable", []string{"TRASHD_PRICE_STANDARD=cheap"}, []string{"status", "--cost"}, 2, []string{"TRASHD_PRICE_STANDARD"}, 0},
		{"price NaN", []string{"TRASHD_PRICE_GLACIER=NaN"}, []string{"status", "--cost"}, 2, []string{"TRASHD_PRICE_GLACIER"}, 0},
		{"price infinite", []string{"TRASHD_PRICE_DEEP_ARCHIVE=+Inf"}, []string{"status", "--cost"}, 2, []string{"TRASHD_PRICE_DEEP_ARCHIVE"}, 0},
		{"price negative", []string{"TRASHD_PRICE_GLACIER_IR=-0.004"}, []string{"status", "--cost"}, 2, []string{"TRASHD_PRICE_GLACIER_IR"}, 0},

		// Values out of range.
		{"batch size zero", []string{"TRASHD_BATCH_SIZE=0"}, []string{"reconcile"}, 2, []string{"TRASHD_BATCH_SIZE"}, 0},
		{"concurrency negative", []string{"TRASHD_CONCURRENCY=-4"}, []string{"reconcile"}, 2, []string{"TRASHD_CONCURRENCY"}, 0},
		{"port out of range", []string{"TRASHD_MYSQL_PORT=70000"}, []string{"status"}, 2, []string{"TRASHD_MYSQL_PORT"}, 0},
		{"max attempts zero", []string{"TRASHD_MAX_ATTEMPTS=0"}, []string{"reconcile"}, 2, []string{"TRASHD_MAX_ATTEMPTS"}, 0},
		{"part size under 5MiB", []string{"TRASHD_PART_SIZE=1KiB"}, []string{"reconcile"}, 2, []string{"TRASHD_PART_SIZE", "5MiB"}, 0},
		{"multipart threshold over 5GiB", []string{"TRASHD_MULTIPART_THRESHOLD=6GiB"}, []string{"reconcile"}, 2, []string{"TRASHD_MULTIPART_THRESHOLD"}, 0},
		{"part concurrency zero", []string{"TRASHD_PART_CONCURRENCY=0"}, []string{"reconcile"}, 2, []string{"TRASHD_PART_CONCURRENCY"}, 0},
		{"lease under a second", []string{"TRASHD_LEASE=500ms"}, []string{"reconcile"}, 2, []string{"TRASHD_LEASE"}, 0},
		{"transition days negative", []string{"TRASHD_TRANSITION_DAYS=-3"}, []string{"reconcile"}, 2, []string{"TRASHD_TRANSITION_DAYS"}, 0},
		{"lifecycle day under a second", []string{"TRASHD_LIFECYCLE_DAY_LENGTH=500ms"}, []string{"reconcile"}, 2, []string{"TRASHD_LIFECYCLE_DAY_LENGTH"}, 0},
		{"lease under 3x the MySQL timeouts", []string{"TRASHD_LEASE=10s", "TRASHD_MYSQL_READ_TIMEOUT=30s"}, []string{"reconcile"}, 2, []string{"TRASHD_LEASE", "TRASHD_MYSQL_READ_TIMEOUT"}, 0},

		// Unknown enum values.
		{"trash kind unknown", []string{"TRASHD_LMS_TRASH_KIND=bool"}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_TRASH_KIND", "flag"}, 0},
		{"trash kind value without values", []string{"TRASHD_LMS_TRASH_KIND=value", "TRASHD_LMS_TRASH_VALUES="}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_TRASH_VALUES"}, 0},
		{"log level unknown", []string{"TRASHD_LOG_LEVEL=verbose"}, []string{"reconcile"}, 2, []string{"TRASHD_LOG_LEVEL", "debug"}, 0},
		{"log format unknown", []string{"TRASHD_LOG_FORMAT=xml"}, []string{"reconcile"}, 2, []string{"TRASHD_LOG_FORMAT", "json"}, 0},
		{"mysql tls unknown", []string{"TRASHD_MYSQL_TLS=maybe"}, []string{"status"}, 2, []string{"TRASHD_MYSQL_TLS"}, 0},
		{"checksums unknown", []string{"TRASHD_S3_CHECKSUMS=always"}, []string{"reconcile"}, 2, []string{"TRASHD_S3_CHECKSUMS", "when_required"}, 0},
		{"archive mode unknown", []string{"TRASHD_ARCHIVE_MODE=tape"}, []string{"reconcile"}, 2, []string{"TRASHD_ARCHIVE_MODE", "lifecycle"}, 0},
		{"lifecycle mode unknown", []string{"TRASHD_LIFECYCLE_MODE=fix"}, []string{"reconcile"}, 2, []string{"TRASHD_LIFECYCLE_MODE", "enforce"}, 0},
		{"storage class unknown", []string{"TRASHD_STORAGE_CLASS=COLD"}, []string{"reconcile"}, 2, []string{"TRASHD_STORAGE_CLASS", "DEEP_ARCHIVE"}, 0},
		{"restore tier unknown", []string{"TRASHD_RESTORE_TIER=Fast"}, []string{"reconcile"}, 2, []string{"TRASHD_RESTORE_TIER", "Bulk"}, 0},
		{"expedited fallback unknown", []string{"TRASHD_RESTORE_EXPEDITED_FALLBACK=Sometimes"}, []string{"reconcile"}, 2, []string{"TRASHD_RESTORE_EXPEDITED_FALLBACK"}, 0},
		{"schedule unparsable", []string{"TRASHD_SCHEDULE=every day at noon", "TRASHD_CONTROL_SOCKET=" + socket, "TRASHD_METRICS_ADDR="}, []string{"serve"}, 2, []string{"TRASHD_SCHEDULE"}, 0},

		// Buckets and keys.
		{"no trash bucket", []string{"TRASHD_TRASH_BUCKET="}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET"}, 0},
		{"trash bucket upper case", []string{"TRASHD_TRASH_BUCKET=Trash_Bucket"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET", "Trash_Bucket"}, 0},
		{"trash bucket too short", []string{"TRASHD_TRASH_BUCKET=ab"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET"}, 0},
		{"trash bucket an IP address", []string{"TRASHD_TRASH_BUCKET=192.168.1.1"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET"}, 0},
		{"source bucket with two dots", []string{"TRASHD_SOURCE_BUCKET=lms..files"}, []string{"reconcile"}, 2, []string{"TRASHD_SOURCE_BUCKET"}, 0},
		{"trash bucket is the source", []string{"TRASHD_TRASH_BUCKET=" + env.Source}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET", "TRASHD_SOURCE_BUCKET"}, 0},
		{"key template empty segment", []string{"TRASHD_TRASH_KEY_TEMPLATE=trash//{id}"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_KEY_TEMPLATE"}, 0},
		{"key template dot segment", []string{"TRASHD_TRASH_KEY_TEMPLATE=./{id}"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_KEY_TEMPLATE"}, 0},
		{"key template dot-dot segment", []string{"TRASHD_TRASH_KEY_TEMPLATE=trash/../{id}"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_KEY_TEMPLATE"}, 0},
		{"key template leading slash", []string{"TRASHD_TRASH_KEY_TEMPLATE=/trash/{id}"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_KEY_TEMPLATE"}, 0},
		{"key template without id", []string{"TRASHD_TRASH_KEY_TEMPLATE=trash/{key}"}, []string{"reconcile"}, 2, []string{"TRASHD_TRASH_KEY_TEMPLATE", "{id}"}, 0},

		// Rules across variables.
		{"abort uploads with a min size", []string{"TRASHD_ABORT_UPLOADS_DAYS=7", "TRASHD_TRANSITION_MIN_SIZE=1MiB"}, []string{"reconcile"}, 2, []string{"TRASHD_ABORT_UPLOADS_DAYS", "TRASHD_TRANSITION_MIN_SIZE"}, 0},
		{"expedited deep archive without fallback", []string{"TRASHD_RESTORE_TIER=Expedited", "TRASHD_STORAGE_CLASS=DEEP_ARCHIVE", "TRASHD_RESTORE_EXPEDITED_FALLBACK=off"}, []string{"reconcile"}, 2, []string{"TRASHD_RESTORE_TIER", "DEEP_ARCHIVE", "Expedited fall back"}, 0},
		{"password file missing", []string{"TRASHD_MYSQL_PASSWORD_FILE=/nonexistent/trashd-password"}, []string{"status"}, 2, []string{"TRASHD_MYSQL_PASSWORD_FILE"}, 0},

		// `trashd config` reports, and exits 2.
		{"config unknown variable", []string{"TRASHD_TRASH_BUKET=x"}, []string{"config"}, 2, []string{"TRASHD_TRASH_BUKET", "TRASHD_TRASH_BUCKET"}, 0},
		{"config bad value", []string{"TRASHD_CONCURRENCY=lots"}, []string{"config"}, 2, []string{"TRASHD_CONCURRENCY"}, 0},
		{"status unknown variable warns", []string{"TRASHD_CONCURENCY=8"}, []string{"status"}, 0, []string{"TRASHD_CONCURENCY", "did you mean TRASHD_CONCURRENCY", "rename or unset"}, 0},

		// The LMS schema.
		{"unknown table", []string{"TRASHD_LMS_TABLE=documents"}, []string{"reconcile"}, 2, []string{"documents", "files"}, 0},
		{"unknown column", []string{"TRASHD_LMS_KEY_COLUMN=object_key"}, []string{"reconcile"}, 2, []string{"object_key", "s3_key"}, 0},
		{"unknown bucket column", []string{"TRASHD_LMS_BUCKET_COLUMN=bucket_name"}, []string{"reconcile"}, 2, []string{"bucket_name", "bucket"}, 0},
		{"identifier injection", []string{"TRASHD_LMS_TABLE=files`; DROP TABLE files; --"}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_TABLE"}, 0},
		{"column injection", []string{"TRASHD_LMS_TRASH_COLUMN=trashed OR 1=1"}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_TRASH_COLUMN"}, 0},
		{"trash column is the id column", []string{"TRASHD_LMS_TRASH_COLUMN=id"}, []string{"reconcile"}, 2, []string{"TRASHD_LMS_TRASH_COLUMN", "TRASHD_LMS_ID_COLUMN"}, 0},
		{"key column is the id column", []string{"TRASHD_LMS_KEY_COLUMN=id"}, []string{"reconcile"}, 2, []string{`column "id"`, "not a string type"}, 0},
		{"key column an integer", []string{"TRASHD_LMS_KEY_COLUMN=size"}, []string{"reconcile"}, 2, []string{`column "size"`, "not a string type"}, 0},
		{"id column a string", []string{"TRASHD_LMS_ID_COLUMN=s3_key"}, []string{"reconcile"}, 2, []string{`column "s3_key"`, "not an integer type"}, 0},
		{"timestamp kind on a flag", []string{"TRASHD_LMS_TRASH_KIND=timestamp"}, []string{"reconcile"}, 2, []string{`column "trashed"`, "DATETIME or TIMESTAMP", `TrashKind "timestamp"`}, 0},
		{"flag kind on a datetime", []string{"TRASHD_LMS_TRASH_COLUMN=created_at"}, []string{"reconcile"}, 2, []string{`column "created_at"`, `TrashKind "flag"`}, 0},
		{"value kind on a flag", []string{"TRASHD_LMS_TRASH_KIND=value", "TRASHD_LMS_TRASH_VALUES=deleted"}, []string{"reconcile"}, 2, []string{`column "trashed"`, `TrashKind "value"`}, 0},
		{"wrong column types", []string{"TRASHD_LMS_TABLE=files_types"}, []string{"reconcile"}, 2, []string{"files_types", "not an integer type", "not a string type"}, 0},
		{"no index on the key column", []string{"TRASHD_LMS_TABLE=files_noindex"}, []string{"reconcile"}, 2, []string{"files_noindex", "s3_key", "TRASHD_LMS_UNIQUE_KEYS"}, 0},
		{"no index, dry run", []string{"TRASHD_LMS_TABLE=files_noindex"}, []string{"reconcile", "--dry-run"}, 2, []string{"files_noindex", "TRASHD_LMS_UNIQUE_KEYS"}, 0},
		{"unknown table for restore", []string{"TRASHD_LMS_TABLE=documents"}, []string{"restore", liveID}, 2, []string{"documents", "files"}, 0},

		// The environment.
		{"unreachable database", with(fast, "TRASHD_MYSQL_PORT=1"), []string{"reconcile"}, 1, []string{"connect to MySQL 127.0.0.1:1"}, 0},
		{"unreachable database, status", with(fast, "TRASHD_MYSQL_PORT=1"), []string{"status"}, 1, []string{"127.0.0.1:1"}, 0},
		{"unresolvable database host", with(fast, "TRASHD_MYSQL_HOST=no-such-host.invalid"), []string{"reconcile"}, 1, []string{"no-such-host.invalid", "no such host"}, 0},
		{"wrong database password", with(fast, "TRASHD_MYSQL_PASSWORD="+badPassword), []string{"reconcile"}, 1, []string{"MySQL", "Access denied"}, 0},
		{"wrong database name", with(fast, "TRASHD_MYSQL_DATABASE=no_such_db_trashd"), []string{"reconcile"}, 1, []string{"Unknown database", "no_such_db_trashd"}, 0},
		{"unreachable S3", []string{"TRASHD_S3_ENDPOINT=http://127.0.0.1:1"}, []string{"reconcile"}, 1, []string{"the pass could not run", "127.0.0.1:1"}, 1},
		{"wrong S3 credentials", []string{"AWS_SECRET_ACCESS_KEY=" + badSecret}, []string{"reconcile"}, 1, []string{"credentials"}, 1},
		{"wrong S3 credentials, audit", []string{"AWS_SECRET_ACCESS_KEY=" + badSecret}, []string{"audit"}, 1, []string{"credentials"}, 0},
		{"missing trash bucket", []string{"TRASHD_TRASH_BUCKET=no-such-bucket-trashd"}, []string{"reconcile"}, 1, []string{`bucket "no-such-bucket-trashd" does not exist`, "create it"}, 1},
		{"missing source bucket", []string{"TRASHD_SOURCE_BUCKET=no-such-source-trashd"}, []string{"reconcile"}, 1, []string{`bucket "no-such-source-trashd" does not exist`, "create it"}, 1},
		{"trigger without a service", []string{"TRASHD_CONTROL_SOCKET=" + socket}, []string{"trigger"}, 1, []string{socket, "serve"}, 0},

		// The command line.
		{"unknown command", nil, []string{"frobnicate"}, 2, []string{"frobnicate", "trashd help"}, 0},
		{"extra argument", nil, []string{"reconcile", "now"}, 2, []string{"now", "usage: trashd reconcile"}, 0},
		{"unknown flag", nil, []string{"reconcile", "--force"}, 2, []string{"force", "usage: trashd reconcile"}, 0},
		{"flag value on a bool", nil, []string{"status", "--failed=maybe"}, 2, []string{"failed", "usage: trashd status"}, 0},
		{"status extra argument", nil, []string{"status", "all"}, 2, []string{"all", "usage: trashd status"}, 0},
		{"help of an unknown command", nil, []string{"help", "frobnicate"}, 2, []string{"frobnicate"}, 0},
		{"migrate unknown subcommand", nil, []string{"migrate", "down"}, 2, []string{"down", "usage: trashd migrate"}, 0},
		{"restore without an id", nil, []string{"restore"}, 2, []string{"LMS_ROW_ID", "usage: trashd restore"}, 0},
		{"restore non-numeric id", nil, []string{"restore", "abc"}, 2, []string{"abc", "usage: trashd restore"}, 0},
		{"restore two ids", nil, []string{"restore", movedID, liveID}, 2, []string{"usage: trashd restore"}, 0},
		{"restore a row still trashed", nil, []string{"restore", movedID}, 1, []string{"LMS row " + movedID + " is still trashed", "clear its trash flag"}, 0},
		{"restore an unknown row", nil, []string{"restore", "987654321"}, 1, []string{"987654321"}, 0},
		{"restore a live row", nil, []string{"restore", liveID}, 1, []string{liveID}, 0},
		{"retry unknown state", nil, []string{"retry", "--state", "pending"}, 2, []string{"pending", "failed", "missing"}, 0},
		{"retry nothing named", nil, []string{"retry"}, 2, []string{"usage: trashd retry"}, 0},
		{"retry non-numeric id", nil, []string{"retry", "x1"}, 2, []string{"x1"}, 0},
		{"retry ids and --all", nil, []string{"retry", "--all", movedID}, 2, []string{"--all", "usage: trashd retry"}, 0},
		{"lifecycle extra argument", nil, []string{"lifecycle", "apply"}, 2, []string{"apply", "usage: trashd lifecycle"}, 0},
		{"config extra argument", nil, []string{"config", "show"}, 2, []string{"show", "usage: trashd config"}, 0},
	}

	before := takeFingerprint(t, env)
	if n := len(cases); n < 60 {
		t.Fatalf("%d cases, want at least 60", n)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := trashdQuick(t, 30*time.Second, with(w.vars, tc.vars...), tc.args...)
			checkOutput(t, r, tc.args, tc.code, tc.wants, nil)
			out := r.stderr + r.stdout
			for _, s := range []string{secret, badPassword, badSecret} {
				if s != "" && strings.Contains(out, s) {
					t.Errorf("the output contains a secret (%.4s…)", s)
				}
			}
			after := takeFingerprint(t, env)
			want := before.expected(t, env, after, tc.runs)
			if d := want.diff(after); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
			before = after // judge the next case on its own
		})
	}
	env.CheckInvariant(t)
}

// TestBadKeys: LMS rows whose keys trashd cannot move fail alone, with a
// message, and the pass goes on: the only changes are that row's record
// (failed, with its reason) and the run.
func TestBadInputsPerRow(t *testing.T) {
	env := testworld.New(t)
	vars := with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off", "TRASHD_LMS_BUCKET_COLUMN=bucket", "TRASHD_MAX_ATTEMPTS=1", "TRASHD_FAIL_AFTER=1ms")
	env.AddFile(t, "moved.txt", []byte("moved"), true, 0)
	env.AddFile(t, "live.txt", []byte("live"), false, 0)
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// An object in the trash bucket that an LMS row will name.
	s3test.PutObject(t, env.SDK, env.Trash, "lms-upload.txt", []byte("not the LMS's"))

	for _, tc := range []struct {
		name   string
		bucket string
		key    string
		wants  []string
	}{
		{"key over 1024 bytes", "", strings.Repeat("é", 600), []string{"1024"}},
		{"row naming the trash bucket", env.Trash, "lms-upload.txt", []string{env.Trash, "trash bucket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := dbtest.InsertFile(t, env.DB, tc.bucket, tc.key, true)
			env.Forget(id)
			before := takeFingerprint(t, env)
			objectsBefore := recordsExcept(t, env.DB, id)
			r := trashdQuick(t, time.Minute, vars, "reconcile")
			if r.code != 3 {
				t.Errorf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if out := r.stdout + r.stderr; !strings.Contains(out, "1 failed") || !strings.Contains(out, "trashd status --failed") {
				t.Errorf("output does not say that one failed and where to look:\n%s", out)
			}
			// status --failed names the row and why.
			st := trashdQuick(t, time.Minute, vars, "status", "--failed")
			for _, want := range append(tc.wants, strconv.FormatInt(id, 10)) {
				if !strings.Contains(st.stdout+st.stderr, want) {
					t.Errorf("status --failed does not mention %q:\n%s%s", want, st.stdout, st.stderr)
				}
			}
			after := takeFingerprint(t, env)
			if after.runs != before.runs+1 {
				t.Errorf("trash_runs has %d rows, want %d (one pass)", after.runs, before.runs+1)
			}
			for bucket, l := range before.buckets {
				if after.buckets[bucket] != l {
					t.Errorf("bucket %s changed:\nbefore:\n%s\nafter:\n%s", bucket, l, after.buckets[bucket])
				}
			}
			for table, sum := range before.tables {
				if table != "trash_objects" && table != "trash_runs" && after.tables[table] != sum {
					t.Errorf("table %s changed", table)
				}
			}
			if got := recordsExcept(t, env.DB, id); got != objectsBefore {
				t.Errorf("records of other rows changed:\nbefore:\n%s\nafter:\n%s", objectsBefore, got)
			}
			var state, reason sql.NullString
			err := env.DB.QueryRowContext(t.Context(), "SELECT state, last_error FROM trash_objects WHERE lms_id = ?", id).Scan(&state, &reason)
			if err != nil {
				t.Fatalf("the row's record: %v", err)
			}
			if state.String != "failed" || reason.String == "" {
				t.Errorf("the row's record is %q (%q), want failed with a reason", state.String, reason.String)
			}
		})
	}
	env.CheckInvariant(t)
}

// errorRuns fails t unless trash_runs has exactly n rows after the first
// had, each of them a pass that ended in error.
func errorRuns(t *testing.T, d *sql.DB, had, n int) {
	t.Helper()
	rows, err := d.QueryContext(t.Context(), "SELECT status FROM trash_runs ORDER BY id LIMIT 1000000 OFFSET ?", had)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if len(got) != n {
		t.Errorf("%d new runs %q, want %d", len(got), got, n)
	}
	for _, s := range got {
		if s != "error" {
			t.Errorf("new run with status %q, want error", s)
		}
	}
}

// recordsExcept is every trash_objects row but lms_id id's, as text.
func recordsExcept(t *testing.T, d *sql.DB, id int64) string {
	t.Helper()
	rows, err := d.QueryContext(t.Context(), "SELECT * FROM trash_objects WHERE lms_id <> ? ORDER BY id", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%q ", v.String)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// expected is what the fingerprint must read after a case that recorded
// runs error runs (errorRuns checks each) and changed nothing else: before,
// with trash_runs as after reads it. Its tables are a copy of before's, for
// a case to add what else it may change.
func (before fingerprint) expected(t *testing.T, env *testworld.Env, after fingerprint, runs int) fingerprint {
	t.Helper()
	want := before
	want.tables = maps.Clone(before.tables)
	if runs > 0 {
		errorRuns(t, env.DB, before.runs, runs)
		want.tables["trash_runs"] = after.tables["trash_runs"]
		want.runs = before.runs + runs
	}
	return want
}
