package inventory

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Rows streams every row of every data file to fn, in manifest order,
// never holding a file whole. Each file's MD5 is verified before any of
// its rows are yielded; a mismatch or a missing file returns an error
// naming the file. An error from fn stops the walk and is returned.
//
// To check a file before reading it, Rows copies it, one at a time, to a
// temporary file (os.TempDir), computing its MD5 on the way: a Parquet
// file has its index at its end and must be read at random anyway, and S3
// keeps each data file to a few hundred MB. Rows of files read before a
// bad one have been yielded already: a caller that must act on the report
// only as a whole collects what it needs and acts once Rows returns nil.
func (r *Report) Rows(ctx context.Context, s Store, fn func(Row) error) error {
	fs, err := checkSchema(r.Schema, true)
	if err != nil {
		return fmt.Errorf("inventory report %s: %w", r.where(), err)
	}
	if r.Format != FormatCSV && r.Format != FormatParquet {
		return fmt.Errorf("inventory report %s is in %s, which trashd does not read: set the inventory configuration's format to Parquet (or CSV)", r.where(), r.Format)
	}
	for i, f := range r.Files {
		what := fmt.Sprintf("data file %d of %d, s3://%s/%s, of inventory report %s", i+1, len(r.Files), r.Bucket, f.Key, r.where())
		if err := r.fileRows(ctx, s, f, fs, fn, what); err != nil {
			return err
		}
	}
	return nil
}

// where is the report's folder as an s3:// URL.
func (r *Report) where() string { return "s3://" + r.Bucket + "/" + r.base() + "/" + r.Date + "/" }

// errStop marks an error that came from the caller's fn: returned as it is.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (r *Report) fileRows(ctx context.Context, s Store, f File, fs []field, fn func(Row) error, what string) error {
	tmp, n, err := spool(ctx, s, r.Bucket, f, what)
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	has := hasOf(fs)
	yield := func(row Row) error {
		row.Has = has
		if !r.Versioned {
			row.IsLatest = true
		}
		if err := fn(row); err != nil {
			return errStop{err}
		}
		return nil
	}
	switch r.Format {
	case FormatCSV:
		err = readCSV(ctx, tmp, fs, yield)
	default:
		err = readParquet(ctx, tmp, n, fs, yield)
	}
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// spool copies f to a temporary file and checks its size and MD5 against
// the manifest.
func spool(ctx context.Context, s Store, bucket string, f File, what string) (*os.File, int64, error) {
	rc, err := s.Get(ctx, bucket, f.Key)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, fmt.Errorf("%s is missing: the manifest lists it but the bucket does not have it (removed, or the report never finished): "+
			"the report cannot be used; wait for the next one: %w", what, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", what, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "trashd-inventory-*")
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", what, err)
	}
	fail := func(err error) (*os.File, int64, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, 0, err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", what, err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.MD5 {
		return fail(fmt.Errorf("%s is damaged: its MD5 is %s but the manifest says %s (%d bytes read, the manifest says %d): "+
			"none of its rows is used; wait for the next report", what, got, f.MD5, n, f.Size))
	}
	if f.Size > 0 && n != f.Size {
		return fail(fmt.Errorf("%s is %d bytes but the manifest says %d: none of its rows is used", what, n, f.Size))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("read %s: %w", what, err))
	}
	return tmp, n, ctx.Err()
}

// checkEvery is how many rows go by between looks at the context.
const checkEvery = 4096

func readCSV(ctx context.Context, r io.Reader, fs []field, yield func(Row) error) error {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	defer zr.Close()
	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = len(fs)
	cr.ReuseRecord = true
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not the CSV its fileSchema (%d columns) describes: %w", len(fs), err)
		}
		var row Row
		for j, f := range fs {
			if err := setText(&row, f, rec[j]); err != nil {
				return fmt.Errorf("line %d: %s %q: %w", line, f.name, rec[j], err)
			}
		}
		if err := yield(row); err != nil {
			return err
		}
		if line%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// setText sets f of row from its CSV text. S3 URL-encodes keys in CSV
// reports the way a form is encoded: a space is "+", a "+" is "%2B".
func setText(row *Row, f field, v string) error {
	var err error
	switch f.name {
	case "Bucket":
		row.Bucket = v
	case "Key":
		row.Key, err = url.QueryUnescape(v)
	case "VersionId":
		row.VersionID = v
	case "IsLatest":
		row.IsLatest, err = parseBool(v)
	case "IsDeleteMarker":
		row.IsDeleteMarker, err = parseBool(v)
	case "IsMultipartUploaded":
		row.IsMultipartUploaded, err = parseBool(v)
	case "Size":
		if v != "" {
			row.Size, err = strconv.ParseInt(v, 10, 64)
		}
	case "LastModifiedDate":
		if v != "" {
			row.LastModified, err = time.Parse(time.RFC3339Nano, v)
		}
	case "ETag":
		row.ETag = v
	case "StorageClass":
		row.StorageClass = v
	case "ChecksumAlgorithm":
		row.ChecksumAlgorithm = v
	}
	return err
}

func parseBool(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// column is how readParquet decodes one leaf column.
type column struct {
	f    field
	unit time.Duration // of a timestamp: S3 writes milliseconds
}

func readParquet(ctx context.Context, r io.ReaderAt, size int64, fs []field, yield func(Row) error) error {
	pf, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return fmt.Errorf("not Parquet: %w", err)
	}
	schema := pf.Schema()
	byColumn := make([]*column, len(schema.Columns()))
	for _, f := range fs {
		if f.snake == "" {
			continue
		}
		leaf, ok := schema.Lookup(f.snake)
		if !ok {
			return fmt.Errorf("has no column %s, which the manifest's fileSchema lists", f.snake)
		}
		c := &column{f: f, unit: time.Millisecond}
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
				c.unit = ts.Unit.Value.Duration()
			}
		}
		byColumn[leaf.ColumnIndex] = c
	}
	buf := make([]parquet.Row, 256)
	n := 0
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			k, err := rows.ReadRows(buf)
			for _, values := range buf[:k] {
				var row Row
				for _, v := range values {
					if c := byColumn[v.Column()]; c != nil && !v.IsNull() {
						setValue(&row, c, v)
					}
				}
				if err := yield(row); err != nil {
					rows.Close()
					return err
				}
			}
			if n += k; n%checkEvery < k && ctx.Err() != nil {
				rows.Close()
				return ctx.Err()
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("row %d: %w", n+1, err)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// setValue sets c's field of row from a Parquet value. Keys are not
// URL-encoded in Parquet reports.
func setValue(row *Row, c *column, v parquet.Value) {
	switch c.f.kind {
	case kindText:
		s := string(v.ByteArray())
		switch c.f.name {
		case "Bucket":
			row.Bucket = s
		case "Key":
			row.Key = s
		case "VersionId":
			row.VersionID = s
		case "ETag":
			row.ETag = s
		case "StorageClass":
			row.StorageClass = s
		case "ChecksumAlgorithm":
			row.ChecksumAlgorithm = s
		}
	case kindBool:
		b := v.Boolean()
		switch c.f.name {
		case "IsLatest":
			row.IsLatest = b
		case "IsDeleteMarker":
			row.IsDeleteMarker = b
		case "IsMultipartUploaded":
			row.IsMultipartUploaded = b
		}
	case kindInt:
		if c.f.name == "Size" {
			row.Size = intOf(v)
		}
	case kindTime:
		if c.f.name == "LastModifiedDate" {
			row.LastModified = time.Unix(0, intOf(v)*int64(c.unit)).UTC()
		}
	}
}

func intOf(v parquet.Value) int64 {
	if v.Kind() == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}
