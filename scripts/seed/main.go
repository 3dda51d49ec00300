// Command seed fills a sample LMS: a MySQL table of files and, for each row,
// an object in an S3 bucket, some rows flagged trashed. The same flags give
// the same rows and the same bytes, whatever the bucket and table, so that a
// benchmark can seed identical sets for the tools it compares.
//
//	go run ./scripts/seed -bucket lms-files -database lms -n 3000 -min-size 1KiB -max-size 256KiB -awkward
//
// Connection settings default to trashd's own environment (TRASHD_MYSQL_*,
// TRASHD_S3_*, AWS_ACCESS_KEY_ID, …), then to the ones dev-up writes
// (TRASHD_TEST_*), then to the local dev servers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

type options struct {
	dsn       string
	database  string
	table     string
	trashKind string
	reset     bool
	s3        s3Settings
	bucket    string
	spec      spec
	conc      int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var size, minSize, maxSize, large string
	var seed int64
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dsn, "mysql-dsn", "", "MySQL DSN without a database, e.g. root@tcp(127.0.0.1:3306)/ (default: from TRASHD_MYSQL_*, TRASHD_TEST_MYSQL_DSN, or that)")
	fs.StringVar(&o.database, "database", envOr("lms", "TRASHD_MYSQL_DATABASE"), "database, created if absent")
	fs.StringVar(&o.table, "table", envOr("files", "TRASHD_LMS_TABLE"), "LMS table, created if absent")
	fs.StringVar(&o.trashKind, "trash-kind", envOr("flag", "TRASHD_LMS_TRASH_KIND"), "flag (column trashed TINYINT) or timestamp (column trashed_at DATETIME)")
	fs.BoolVar(&o.reset, "reset", false, "drop and recreate the table first")
	fs.StringVar(&o.s3.endpoint, "endpoint", envOr("http://127.0.0.1:8333", "TRASHD_S3_ENDPOINT", "TRASHD_TEST_S3_ENDPOINT"), "S3 endpoint URL (empty: AWS)")
	fs.StringVar(&o.s3.region, "region", envOr("us-east-1", "TRASHD_S3_REGION", "AWS_REGION"), "S3 region")
	fs.BoolVar(&o.s3.pathStyle, "path-style", true, "path-style addressing")
	fs.StringVar(&o.s3.accessKey, "access-key", "", "S3 access key (default: AWS_ACCESS_KEY_ID, TRASHD_TEST_S3_ACCESS_KEY)")
	fs.StringVar(&o.s3.secretKey, "secret-key", "", "S3 secret key (default: AWS_SECRET_ACCESS_KEY, TRASHD_TEST_S3_SECRET_KEY)")
	fs.StringVar(&o.bucket, "bucket", envOr("", "TRASHD_SOURCE_BUCKET"), "source bucket, created if absent (required)")
	fs.IntVar(&o.spec.n, "n", 1000, "regular objects")
	fs.StringVar(&size, "size", "16KiB", "size of each regular object")
	fs.StringVar(&minSize, "min-size", "", "with -max-size: random sizes, log-uniform between the two")
	fs.StringVar(&maxSize, "max-size", "", "see -min-size")
	fs.Float64Var(&o.spec.trashFraction, "trash-fraction", 0.33, "share of regular rows flagged trashed (0 to 1)")
	fs.Int64Var(&seed, "seed", 1, "random seed: keys, sizes, trash flags and bytes")
	fs.IntVar(&o.conc, "concurrency", 16, "uploads at once")
	fs.BoolVar(&o.spec.awkward, "awkward", false, "add trashed objects with awkward keys (Unicode, spaces, + % ? # &, deep paths, a 1,024-byte key, a zero-byte object)")
	fs.StringVar(&large, "large", "", "add one trashed object of this size, uploaded multipart in 5MiB parts with content type, metadata and tags")
	fs.IntVar(&o.spec.missing, "missing", 0, "add this many trashed rows whose object is never uploaded")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}

	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	var err error
	o.spec.seed = uint64(seed)
	if o.spec.size, err = parseSize(size); err != nil {
		bad("-size: %v", err)
	}
	if (minSize == "") != (maxSize == "") {
		bad("-min-size and -max-size go together")
	} else if minSize != "" {
		if o.spec.minSize, err = parseSize(minSize); err != nil {
			bad("-min-size: %v", err)
		}
		if o.spec.maxSize, err = parseSize(maxSize); err != nil {
			bad("-max-size: %v", err)
		}
		if o.spec.maxSize < max(o.spec.minSize, 1) {
			bad("-max-size must be at least -min-size and above 0")
		}
	}
	if large != "" {
		if o.spec.large, err = parseSize(large); err != nil || o.spec.large < 1 {
			bad("-large %q: a size above 0 is needed", large)
		}
	}
	if o.bucket == "" {
		bad("-bucket is required")
	}
	if !identifier.MatchString(o.database) || !identifier.MatchString(o.table) {
		bad("-database %q and -table %q must match %s", o.database, o.table, identifier)
	}
	if o.trashKind != "flag" && o.trashKind != "timestamp" {
		bad("-trash-kind %q: flag or timestamp", o.trashKind)
	}
	if o.spec.n < 0 || o.spec.missing < 0 || o.conc < 1 {
		bad("-n and -missing must not be negative, -concurrency must be at least 1")
	}
	if o.spec.trashFraction < 0 || o.spec.trashFraction > 1 {
		bad("-trash-fraction must be between 0 and 1")
	}
	if err := errors.Join(errs...); err != nil {
		return o, usageError{err}
	}

	o.s3.conns = o.conc
	if o.s3.accessKey == "" {
		o.s3.accessKey = envOr("", "AWS_ACCESS_KEY_ID", "TRASHD_TEST_S3_ACCESS_KEY")
	}
	if o.s3.secretKey == "" {
		o.s3.secretKey = envOr("", "AWS_SECRET_ACCESS_KEY", "TRASHD_TEST_S3_SECRET_KEY")
	}
	if o.dsn == "" {
		o.dsn = envDSN()
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	started := time.Now()
	objs := makePlan(o.spec)

	db, err := openDatabase(ctx, o.dsn, o.database)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := prepareTable(ctx, db, o.table, o.trashKind, o.reset); err != nil {
		return err
	}

	client, err := newS3Client(ctx, o.s3)
	if err != nil {
		return err
	}
	if err := ensureBucket(ctx, client, o.bucket, o.s3.region); err != nil {
		return err
	}
	// Objects first, rows after: a trashd running meanwhile never finds a
	// row whose object is still on its way.
	if err := uploadAll(ctx, client, o.bucket, objs, o.spec.seed, o.conc); err != nil {
		return err
	}
	if err := insertRows(ctx, db, o.table, o.bucket, o.trashKind, objs); err != nil {
		return err
	}

	var uploaded, trashed, missing int
	var bytes int64
	for _, obj := range objs {
		if obj.trashed {
			trashed++
		}
		if obj.missing {
			missing++
			continue
		}
		uploaded++
		bytes += obj.size
	}
	fmt.Fprintf(stdout, "seed: %d objects (%s) in bucket %s; %d rows in %s.%s, %d trashed (%d without an object); %.1fs\n",
		uploaded, formatSize(bytes), o.bucket, len(objs), o.database, o.table, trashed, missing, time.Since(started).Seconds())
	return nil
}

// envOr returns the first of the named variables that is set, or def.
func envOr(def string, names ...string) string {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok && v != "" {
			return v
		}
	}
	return def
}

// envDSN builds a DSN from trashd's TRASHD_MYSQL_* variables when any is set,
// else takes dev-up's TRASHD_TEST_MYSQL_DSN, else root on the local server.
func envDSN() string {
	if envOr("", "TRASHD_MYSQL_HOST", "TRASHD_MYSQL_PORT", "TRASHD_MYSQL_USER", "TRASHD_MYSQL_PASSWORD") != "" {
		cfg := mysql.NewConfig()
		cfg.User = envOr("trashd", "TRASHD_MYSQL_USER")
		cfg.Passwd = os.Getenv("TRASHD_MYSQL_PASSWORD")
		cfg.Net = "tcp"
		cfg.Addr = net.JoinHostPort(envOr("127.0.0.1", "TRASHD_MYSQL_HOST"), envOr("3306", "TRASHD_MYSQL_PORT"))
		return cfg.FormatDSN()
	}
	return envOr("root@tcp(127.0.0.1:3306)/", "TRASHD_TEST_MYSQL_DSN")
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// parseSize reads 16KiB, 24MiB, 1GB or a plain number of bytes.
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size such as 16KiB, 24MiB or 1000", v)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
