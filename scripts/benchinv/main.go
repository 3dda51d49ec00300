// Command benchinv measures reading S3 Inventory reports on the local dev
// S3 server: it writes a report of -rows rows (default 1,000,000) in
// Parquet and in CSV compressed with gzip into a bucket of its own
// (inventory.Write, S3's layout), then, for each format, starts itself
// again to find the report (inventory.Latest) and stream every row of it
// (Report.Rows: each data file spooled to a temporary file and its MD5
// checked before its rows are read), and reports the rows per second and
// the reading process's peak RSS (VmHWM in /proc/self/status, read when it
// is done). The bucket is deleted afterwards. The goal: 10^6 rows in at
// most 60 s with an RSS of at most 200 MB.
//
// S3 settings come from dev-up's TRASHD_TEST_S3_* variables (source
// .dev/env first).
//
//	go run ./scripts/benchinv          # a table of figures
//	go run ./scripts/benchinv -json    # one JSON object, for scripts/bench.sh
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/inventory"
	"trashd/s3ops"
)

// Goals of the issue: 10^6 rows in at most 60 s, RSS at most 200 MB.
const (
	goalSeconds = 60
	goalRSSMB   = 200
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchinv:", err)
		os.Exit(1)
	}
}

// result holds the figures; its JSON names are read by scripts/bench.sh.
type result struct {
	Rows    int     `json:"rows"`
	Parquet *format `json:"parquet"`
	CSV     *format `json:"csv"`
	Goals   struct {
		MaxSeconds float64 `json:"max_seconds"`
		MaxRSSMB   float64 `json:"max_rss_mb"`
	} `json:"goals"`
}

// format is the figures of one format.
type format struct {
	WriteSeconds float64 `json:"write_seconds"`
	Files        int     `json:"files"`
	Bytes        int64   `json:"bytes"`
	read
}

// read is what the reading process prints.
type read struct {
	RowsRead  int     `json:"rows_read"`
	Seconds   float64 `json:"seconds"`
	RowsPerS  float64 `json:"rows_per_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchinv", flag.ContinueOnError)
	rows := fs.Int("rows", 1_000_000, "rows in the report")
	asJSON := fs.Bool("json", false, "print one JSON object")
	readOnly := fs.Bool("read", false, "(internal) read the report at -bucket in -format and print the figures as JSON")
	bucket := fs.String("bucket", "", "(internal) the bucket of -read")
	form := fs.String("format", "", "(internal) the format of -read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, err := newClient(ctx)
	if err != nil {
		return err
	}
	if *readOnly {
		r, err := readReport(ctx, client.InventoryStore(), location(*bucket, *form))
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(r)
	}
	if *rows < 1 {
		return fmt.Errorf("-rows %d: must be at least 1", *rows)
	}

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "benchinv-" + hex.EncodeToString(b)
	if _, err := client.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	defer func() {
		// Removed even when interrupted.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if err := removeBucket(ctx, client.S3(), name); err != nil {
			fmt.Fprintf(os.Stderr, "benchinv: remove bucket %s: %v\n", name, err)
		}
	}()

	res := result{Rows: *rows}
	res.Goals.MaxSeconds, res.Goals.MaxRSSMB = goalSeconds, goalRSSMB
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, f := range []string{inventory.FormatParquet, inventory.FormatCSV} {
		start := time.Now()
		rep, err := inventory.Write(ctx, client.InventoryStore(), location(name, f), time.Now(), f, inventory.DefaultSchema(false), generate(*rows))
		if err != nil {
			return fmt.Errorf("write the %s report: %w", f, err)
		}
		out := &format{WriteSeconds: time.Since(start).Seconds(), Files: len(rep.Files)}
		for _, file := range rep.Files {
			out.Bytes += file.Size
		}
		// A process of its own, so that its peak RSS is the reading's alone.
		cmd := exec.CommandContext(ctx, self, "-read", "-bucket", name, "-format", f)
		cmd.Stderr = os.Stderr
		body, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("read the %s report: %w", f, err)
		}
		if err := json.Unmarshal(body, &out.read); err != nil {
			return fmt.Errorf("read the %s report: %q: %w", f, body, err)
		}
		if out.RowsRead != *rows {
			return fmt.Errorf("the %s report gave %d rows, not %d", f, out.RowsRead, *rows)
		}
		if f == inventory.FormatParquet {
			res.Parquet = out
		} else {
			res.CSV = out
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "an inventory report of %d rows (goal: at most %d s and %d MB RSS for 10^6 rows)\n", res.Rows, goalSeconds, goalRSSMB)
	fmt.Fprintf(stdout, "%-8s %6s %10s %9s %9s %11s %9s\n", "format", "files", "MB", "write s", "read s", "rows/s", "RSS MB")
	for _, x := range []struct {
		name string
		f    *format
	}{{"Parquet", res.Parquet}, {"CSV.gz", res.CSV}} {
		fmt.Fprintf(stdout, "%-8s %6d %10.1f %9.2f %9.2f %11.0f %9.1f\n", x.name, x.f.Files, float64(x.f.Bytes)/1e6, x.f.WriteSeconds, x.f.Seconds, x.f.RowsPerS, x.f.PeakRSSMB)
	}
	return nil
}

func location(bucket, format string) inventory.Location {
	return inventory.Location{Bucket: bucket, Prefix: "inventory", SourceBucket: "lms-files", ConfigID: strings.ToLower(format)}
}

// generate yields n rows of an LMS's files: keys with spaces, "+" and
// UTF-8, sizes and classes varied.
func generate(n int) func(func(inventory.Row) bool) {
	classes := []string{"GLACIER", "GLACIER", "GLACIER", "STANDARD"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(yield func(inventory.Row) bool) {
		for i := range n {
			row := inventory.Row{
				Bucket: "lms-files", Key: fmt.Sprintf("courses/%d/files/%08d/Übung %d + Lösung.pdf", i%5000, i, i%97),
				IsLatest: true, Size: int64(1000 + i%1_000_000), ETag: fmt.Sprintf("%032x", i),
				StorageClass: classes[i%len(classes)], LastModified: t0.Add(time.Duration(i) * time.Second),
				ChecksumAlgorithm: "CRC64NVME",
			}
			if !yield(row) {
				return
			}
		}
	}
}

// readReport finds the newest report at loc and streams every row of it.
func readReport(ctx context.Context, store inventory.Store, loc inventory.Location) (read, error) {
	start := time.Now()
	rep, err := inventory.Latest(ctx, store, loc)
	if err != nil {
		return read{}, err
	}
	var n int
	err = rep.Rows(ctx, store, func(inventory.Row) error {
		n++
		return nil
	})
	if err != nil {
		return read{}, err
	}
	secs := time.Since(start).Seconds()
	rss, err := peakRSSMB()
	if err != nil {
		return read{}, err
	}
	return read{RowsRead: n, Seconds: secs, RowsPerS: float64(n) / secs, PeakRSSMB: rss}, nil
}

// peakRSSMB is VmHWM, the process's peak resident set, in MB.
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
			return kb * 1024 / 1e6, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

func newClient(ctx context.Context) (*s3ops.Client, error) {
	return s3ops.New(ctx, s3ops.Options{
		Region:               "us-east-1",
		Endpoint:             cmp.Or(os.Getenv("TRASHD_TEST_S3_ENDPOINT"), "http://127.0.0.1:8333"),
		PathStyle:            true,
		ChecksumWhenRequired: true,
		Credentials: credentials.NewStaticCredentialsProvider(cmp.Or(os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), "trashd-dev"),
			cmp.Or(os.Getenv("TRASHD_TEST_S3_SECRET_KEY"), "trashd-dev-secret"), ""),
	})
}

// removeBucket deletes every object of bucket, then the bucket.
func removeBucket(ctx context.Context, c *s3.Client, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids}}); err != nil {
			return err
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}
