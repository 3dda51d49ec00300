package inventory_test

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/inventory"
	"trashd/s3ops/s3test"
)

// testBundle is a destination bucket of the test's own on the test
// server, and the store over it.
type testBundle struct {
	s   inventory.Store
	loc inventory.Location
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	c := s3test.NewClient(t, s3test.Options(t))
	bucket := s3test.NewBucket(t, c.S3(), "inventory")
	return &testBundle{
		s:   c.InventoryStore(),
		loc: inventory.Location{Bucket: bucket, Prefix: "reports", SourceBucket: "lms-files", ConfigID: "trashd"},
	}
}

// day0 is when the tests' first reports are taken.
var day0 = time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)

// keys are object keys that CSV reports must encode and decode: a space,
// a literal "+", a "%", UTF-8, and a slash.
var keys = []string{"plain.txt", "a b.txt", "a+b.txt", "100%.csv", "курс/Übung 1 + 2 (final).pdf", "課題/提出物.docx", "dir/sub/x y+z%20.bin"}

// sampleRows are an unversioned listing of keys.
func sampleRows() []inventory.Row {
	classes := []string{"STANDARD", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"}
	var rows []inventory.Row
	for i, k := range keys {
		rows = append(rows, inventory.Row{
			Bucket: "lms-files", Key: k, IsLatest: true,
			Size: int64(1000 * (i + 1)), ETag: hex.EncodeToString([]byte(k))[:8] + "aabbccdd00112233eeff",
			StorageClass: classes[i%len(classes)], LastModified: day0.Add(-time.Duration(i) * time.Hour).Add(123 * time.Millisecond),
			ChecksumAlgorithm: "CRC64NVME", IsMultipartUploaded: i%3 == 0,
		})
	}
	return rows
}

func all(rows []inventory.Row) func(func(inventory.Row) bool) {
	return func(yield func(inventory.Row) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}

func (b *testBundle) write(t *testing.T, created time.Time, format string, schema []string, rows []inventory.Row) *inventory.Report {
	t.Helper()
	r, err := inventory.Write(t.Context(), b.s, b.loc, created, format, schema, all(rows))
	if err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
	return r
}

func (b *testBundle) latest(t *testing.T) *inventory.Report {
	t.Helper()
	r, err := inventory.Latest(t.Context(), b.s, b.loc)
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	return r
}

// read collects every row of r, or the error that stopped Rows.
func (b *testBundle) read(t *testing.T, r *inventory.Report) ([]inventory.Row, error) {
	t.Helper()
	var got []inventory.Row
	err := r.Rows(t.Context(), b.s, func(row inventory.Row) error {
		got = append(got, row)
		return nil
	})
	return got, err
}

func (b *testBundle) get(t *testing.T, key string) []byte {
	t.Helper()
	rc, err := b.s.Get(t.Context(), b.loc.Bucket, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (b *testBundle) put(t *testing.T, key string, body []byte) {
	t.Helper()
	if err := b.s.Put(t.Context(), b.loc.Bucket, key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// putManifest puts body as manifest.json of the report of date, with a
// manifest.checksum that matches it.
func (b *testBundle) putManifest(t *testing.T, date, body string) {
	t.Helper()
	dir := b.loc.Prefix + "/" + b.loc.SourceBucket + "/" + b.loc.ConfigID + "/" + date + "/"
	sum := md5.Sum([]byte(body))
	b.put(t, dir+"manifest.json", []byte(body))
	b.put(t, dir+"manifest.checksum", []byte(hex.EncodeToString(sum[:])+"\n"))
}

func gz(t *testing.T, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// wantError fails unless err has every one of words (case-insensitive).
func wantError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error; want one saying %q", what, words)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
			t.Errorf("%s: %v\nwant it to say %q", what, err, w)
		}
	}
}

func isNoReport(err error) bool { return errors.Is(err, inventory.ErrNoReport) }

func (b *testBundle) remove(t *testing.T, key string) {
	t.Helper()
	c := s3test.NewClient(t, s3test.Options(t)).S3()
	if _, err := c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
