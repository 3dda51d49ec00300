// Command benchconfirm measures confirming transitions from an S3 Inventory
// report on the local dev servers: -records records (default 1,000,000)
// in_trash and due for their transition in trashd's tables, and a Parquet
// report of the trash bucket that lists them, almost all in GLACIER with
// the recorded size and ETag, -standard of them still in STANDARD and
// -unlisted of them not at all. A process of its own (for its peak RSS)
// then checks every record against the report the way a pass does
// (reconcile.ConfirmFromReport over db.Store and the report in S3): it
// reports the rows per second, the peak RSS (VmHWM), the records confirmed
// without a request and the HEADs the pass would send, against the one
// HEAD per record of a sweep without a report. The objects themselves are
// not in S3 (10^6 uploads would measure the server): the HEADs are counted,
// not sent.
//
// The records live in database trashd_benchconfirm on 127.0.0.1:3306 (root,
// no password; -dsn) and are kept: a later run reuses them, reset to
// in_trash. The report goes to a bucket of its own, deleted afterwards.
// S3 settings come from dev-up's TRASHD_TEST_S3_* variables (source
// .dev/env first).
//
//	go run ./scripts/benchconfirm          # a table of figures
//	go run ./scripts/benchconfirm -json    # one JSON object, for scripts/bench.sh
package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-sql-driver/mysql"

	"trashd/db"
	"trashd/internal/inventories"
	"trashd/inventory"
	"trashd/reconcile"
	"trashd/s3ops"
)

const (
	database    = "trashd_benchconfirm"
	trashBucket = "benchconfirm-trash"
	configID    = "trashd-inventory"
	prefix      = "reports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchconfirm:", err)
		os.Exit(1)
	}
}

type options struct {
	dsn                string
	records            int
	standard, unlisted int
	format             string
	asJSON             bool
	child              bool
	dest               string
}

// result holds the figures; its JSON names are read by scripts/bench.sh.
type result struct {
	Records      int     `json:"records"`
	Format       string  `json:"format"`
	SetupSeconds float64 `json:"setup_seconds"`
	confirm
	HeadSweep int `json:"head_sweep"` // HEADs a sweep without a report sends: one per record
}

// confirm is what the confirming process prints.
type confirm struct {
	Seconds float64 `json:"seconds"`
	// RowsPerS is the report's rows streamed per second of streaming;
	// RecordsPerS the records checked and recorded per second in all.
	RowsPerS    float64 `json:"rows_per_s"`
	RecordsPerS float64 `json:"records_per_s"`
	Rows        int64   `json:"rows"`
	Streams     int     `json:"streams"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	Confirmed   int     `json:"confirmed"`
	Disagreed   int     `json:"disagreed"`
	Unlisted    int     `json:"unlisted"`
	HeadsToSend int     `json:"heads"`
	// Where the time went: reading the records waiting, streaming the
	// report past them (finding it included), recording those confirmed.
	LoadSeconds   float64 `json:"load_seconds"`
	CheckSeconds  float64 `json:"check_seconds"`
	RecordSeconds float64 `json:"record_seconds"`
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("benchconfirm", flag.ContinueOnError)
	fs.StringVar(&o.dsn, "dsn", "root@tcp(127.0.0.1:3306)/", "MySQL server (the database "+database+" is made there)")
	fs.IntVar(&o.records, "records", 1_000_000, "records in_trash and due for their transition")
	fs.IntVar(&o.standard, "standard", 200, "of them, listed in STANDARD (the pass HEADs them)")
	fs.IntVar(&o.unlisted, "unlisted", 100, "of them, not listed (the pass HEADs them)")
	fs.StringVar(&o.format, "format", inventory.FormatParquet, "the report's format: Parquet or CSV")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object")
	fs.BoolVar(&o.child, "confirm", false, "(internal) confirm from the report in -dest and print the figures")
	fs.StringVar(&o.dest, "dest", "", "(internal) the report's bucket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.records < 1 || o.standard+o.unlisted > o.records {
		return fmt.Errorf("-records %d must be positive and at least -standard + -unlisted", o.records)
	}
	client, err := s3Client(ctx)
	if err != nil {
		return err
	}
	sqlDB, store, err := openStore(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if o.child {
		return confirmFromReport(ctx, o, client, store, out)
	}

	started := time.Now()
	if err := ensureRecords(ctx, sqlDB, o.records); err != nil {
		return err
	}
	dest := "benchconfirm-" + randomHex(4)
	if _, err := client.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dest)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", dest, err)
	}
	defer removeBucket(context.WithoutCancel(ctx), client.S3(), dest)
	if err := writeReport(ctx, sqlDB, client, dest, o); err != nil {
		return err
	}
	res := result{Records: o.records, Format: o.format, SetupSeconds: time.Since(started).Seconds(), HeadSweep: o.records}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "-confirm", "-dest", dest, "-dsn", o.dsn, "-records", strconv.Itoa(o.records))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("the confirming process: %w", err)
	}
	if err := json.Unmarshal(b, &res.confirm); err != nil {
		return fmt.Errorf("the confirming process printed %q: %w", b, err)
	}
	if o.asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "confirmation of %d records from a %s inventory report of %d rows (%d stream(s)):\n", res.Records, res.Format, res.Rows, res.Streams)
	fmt.Fprintf(out, "  %.1f s (%.0f records/s), peak RSS %.0f MB (goals: 60 s, 200 MB); the report streamed at %.0f rows/s\n",
		res.Seconds, res.RecordsPerS, res.PeakRSSMB, res.RowsPerS)
	fmt.Fprintf(out, "  of which: %.1f s reading the records, %.1f s streaming the report past them, %.1f s recording them archived\n",
		res.LoadSeconds, res.CheckSeconds, res.RecordSeconds)
	fmt.Fprintf(out, "  confirmed from the report: %d; left to HEAD: %d (%d listed in another class or with other bytes, %d unlisted)\n",
		res.Confirmed, res.HeadsToSend, res.Disagreed, res.Unlisted)
	fmt.Fprintf(out, "  HEADs: %d with the report, %d for a sweep without one\n", res.HeadsToSend, res.HeadSweep)
	return nil
}

// confirmFromReport is the measured process: it checks every waiting record
// against the newest report in o.dest, as a pass does, and prints the
// figures as JSON.
func confirmFromReport(ctx context.Context, o options, client *s3ops.Client, store *db.Store, out io.Writer) error {
	cfg := reconcile.InventoryConfig{Trash: reconcile.InventoryPlace{Bucket: o.dest, Prefix: prefix, ID: configID}, MaxAge: time.Hour}
	reports := inventories.Reports{Store: client.InventoryStore(), Trash: trashBucket, Config: cfg}
	started := time.Now()
	snap, err := reports.Newest(ctx, trashBucket)
	if err != nil {
		return err
	}
	records := &timedRecords{InventoryRecords: store}
	res, err := reconcile.ConfirmFromReport(ctx, records, snap, reconcile.TransitionQuery{}, "GLACIER", reconcile.DefaultChecksPerPass)
	if err != nil {
		return err
	}
	d := time.Since(started)
	rss, err := peakRSSMB()
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(confirm{
		Seconds: d.Seconds(), RowsPerS: float64(res.Rows) / (d - records.load - records.record).Seconds(),
		RecordsPerS: float64(res.Records) / d.Seconds(), Rows: res.Rows, Streams: res.Streams, PeakRSSMB: rss,
		Confirmed: res.Confirmed, Disagreed: res.Disagreed, Unlisted: res.Unlisted, HeadsToSend: len(res.ToHead),
		LoadSeconds: records.load.Seconds(), RecordSeconds: records.record.Seconds(),
		CheckSeconds: (d - records.load - records.record).Seconds(),
	})
}

// timedRecords times the database's part: loading the waiting records and
// recording those confirmed.
type timedRecords struct {
	reconcile.InventoryRecords
	load, record time.Duration

	mu    sync.Mutex
	busy  int       // MarkArchived calls in flight
	since time.Time // when the first of them started
}

func (t *timedRecords) WaitingCopies(ctx context.Context, q reconcile.TransitionQuery, bucket string, copiedBy time.Time, after int64, limit int) ([]reconcile.WaitingCopy, error) {
	defer func(start time.Time) { t.load += time.Since(start) }(time.Now())
	return t.InventoryRecords.WaitingCopies(ctx, q, bucket, copiedBy, after, limit)
}

// MarkArchived is called a few at once, after each stream: the time spent
// recording is from the first call of a run of them to the end of the last.
func (t *timedRecords) MarkArchived(ctx context.Context, copies []reconcile.MatchedCopy, class string, copiedBy time.Time) (int, error) {
	start := time.Now()
	t.mu.Lock()
	if t.busy == 0 {
		t.since = start
	}
	t.busy++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.busy--; t.busy == 0 {
			t.record += time.Since(t.since)
		}
	}()
	return t.InventoryRecords.MarkArchived(ctx, copies, class, copiedBy)
}

// ensureRecords makes n in_trash records copied a day ago, keeping those a
// former run made, all reset to in_trash.
func ensureRecords(ctx context.Context, sqlDB *sql.DB, n int) error {
	var have int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM trash_objects").Scan(&have); err != nil {
		return err
	}
	if have != n {
		if _, err := sqlDB.ExecContext(ctx, "DELETE FROM trash_objects"); err != nil {
			return err
		}
		const batch = 2000
		for lo := 1; lo <= n; lo += batch {
			var (
				b    strings.Builder
				args []any
			)
			b.WriteString("INSERT INTO trash_objects (id, lms_id, state, source_bucket, source_key, source_size, source_etag, trash_bucket, trash_key," +
				" trash_size, trash_etag, storage_class, next_attempt_at, discovered_at, copied_at, source_deleted_at, updated_at) VALUES ")
			for id := lo; id < lo+batch && id <= n; id++ {
				if id > lo {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, 'in_trash', 'benchconfirm-src', ?, ?, ?, ?, ?, ?, ?, NULL, NOW(6), NOW(6) - INTERVAL 2 DAY, NOW(6) - INTERVAL 1 DAY, NOW(6) - INTERVAL 1 DAY, NOW(6))")
				k, size, etag := copyOf(id)
				args = append(args, id, id, strings.SplitN(k, "/", 2)[1], size, etag, trashBucket, k, size, etag)
			}
			if _, err := sqlDB.ExecContext(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("insert records: %w", err)
			}
		}
	}
	_, err := sqlDB.ExecContext(ctx, "UPDATE trash_objects SET state = 'in_trash', storage_class = NULL, archived_at = NULL, finished_at = NULL, transition_checked_at = NULL")
	return err
}

// copyOf is record id's trash copy: its key, size and ETag.
func copyOf(id int) (key string, size int64, etag string) {
	sum := md5.Sum([]byte(strconv.Itoa(id)))
	return fmt.Sprintf("%d/courses/%d/week %d/lecture notes %d.pdf", id, id%977, id%13, id), int64(200_000 + id%5000), hex.EncodeToString(sum[:])
}

// writeReport writes the trash bucket's report: every record's copy in
// GLACIER, but the first o.standard in STANDARD and the next o.unlisted
// left out.
func writeReport(ctx context.Context, sqlDB *sql.DB, client *s3ops.Client, dest string, o options) error {
	loc := inventory.Location{Bucket: dest, Prefix: prefix, SourceBucket: trashBucket, ConfigID: configID}
	var created time.Time
	if err := sqlDB.QueryRowContext(ctx, "SELECT NOW(6)").Scan(&created); err != nil {
		return err
	}
	_, err := inventory.Write(ctx, client.InventoryStore(), loc, created, o.format, inventory.DefaultSchema(false), func(yield func(inventory.Row) bool) {
		for id := 1; id <= o.records; id++ {
			if id > o.standard && id <= o.standard+o.unlisted {
				continue
			}
			class := "GLACIER"
			if id <= o.standard {
				class = "STANDARD"
			}
			k, size, etag := copyOf(id)
			if !yield(inventory.Row{Bucket: trashBucket, Key: k, IsLatest: true, Size: size, ETag: etag, StorageClass: class,
				LastModified: created.Add(-24 * time.Hour)}) {
				return
			}
		}
	})
	return err
}

// openStore makes the database and trashd's tables if they are missing, and
// an LMS table for db.NewStore to check (the benchmark reads only trashd's).
func openStore(ctx context.Context, dsn string) (*sql.DB, *db.Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn: %w", err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+database); err != nil {
		return nil, nil, fmt.Errorf("create database %s: %w", database, err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn address %q: %w", cfg.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, nil, fmt.Errorf("-dsn port %q: %w", port, err)
	}
	sqlDB, err := db.Open(ctx, db.Options{Host: host, Port: p, User: cfg.User, Password: cfg.Passwd, Database: database, TLS: db.TLSOff})
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx, sqlDB); err != nil {
		sqlDB.Close()
		return nil, nil, err
	}
	if _, err := sqlDB.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS files (id BIGINT NOT NULL PRIMARY KEY, s3_key VARCHAR(1024) NOT NULL,"+
		" trashed TINYINT NOT NULL DEFAULT 0, INDEX files_key (s3_key(255)), INDEX files_trashed (trashed, id))"); err != nil {
		sqlDB.Close()
		return nil, nil, err
	}
	store, err := db.NewStore(ctx, sqlDB, db.LMSTable{Table: "files", IDColumn: "id", KeyColumn: "s3_key", TrashColumn: "trashed",
		TrashKind: db.TrashFlag, DefaultBucket: "benchconfirm-src"})
	if err != nil {
		sqlDB.Close()
		return nil, nil, err
	}
	return sqlDB, store, nil
}

// s3Client is a client of dev-up's S3 server.
func s3Client(ctx context.Context) (*s3ops.Client, error) {
	endpoint, key, secret := os.Getenv("TRASHD_TEST_S3_ENDPOINT"), os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), os.Getenv("TRASHD_TEST_S3_SECRET_KEY")
	if endpoint == "" || key == "" {
		return nil, errors.New("TRASHD_TEST_S3_ENDPOINT and TRASHD_TEST_S3_ACCESS_KEY are not set: source .dev/env (scripts/dev-up.sh writes it)")
	}
	return s3ops.New(ctx, s3ops.Options{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, ChecksumWhenRequired: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

// removeBucket deletes bucket and everything in it.
func removeBucket(ctx context.Context, c *s3.Client, bucket string) {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			break
		}
		for _, o := range page.Contents {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		}
	}
	c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
}

// peakRSSMB is the process's peak resident set (VmHWM), in MB.
func peakRSSMB() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
