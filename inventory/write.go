package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// RowsPerFile is how many rows Write puts in one data file before it
// starts the next, as S3 splits a large inventory into several files.
const RowsPerFile = 250_000

// rowsPerGroup bounds a Parquet row group, which the writer holds in
// memory until it is flushed.
const rowsPerGroup = 50_000

// Write writes a report of rows at loc in format (CSV or Parquet) with
// schema as its fields, in that order for CSV: the data files under
// data/, a Hive symlink.txt, then manifest.json and last
// manifest.checksum, in S3's layout and with S3's field names, so that a
// reader that sees the checksum sees the whole report. schema uses the CSV
// names (DefaultSchema, FieldNames); a Parquet report's fileSchema is its
// message, with the snake_case column names. It is for tests, the
// emulation and the benchmark; each data file is built in a temporary
// file, so rows may be as many as the disk holds.
func Write(ctx context.Context, s Store, loc Location, created time.Time, format string, schema []string, rows func(yield func(Row) bool)) (*Report, error) {
	return WriteDated(ctx, s, loc, created.UTC().Format(dateLayout), created, format, schema, rows)
}

// WriteDated is Write into the folder date (YYYY-MM-DDTHH-MMZ) rather than
// the minute of created. S3 names the folder for the minute its listing
// began; an emulation that writes several reports a minute gives each a
// folder of its own this way, created (creationTimestamp) still the
// instant of its listing.
func WriteDated(ctx context.Context, s Store, loc Location, date string, created time.Time, format string, schema []string, rows func(yield func(Row) bool)) (*Report, error) {
	if err := loc.validate(); err != nil {
		return nil, err
	}
	if !dateFolder.MatchString(date) {
		return nil, fmt.Errorf("write an inventory report to %s: folder %q is not a date as S3 names them (YYYY-MM-DDTHH-MMZ)", loc, date)
	}
	fs, err := checkSchema(schema, false)
	if err != nil {
		return nil, fmt.Errorf("write an inventory report to %s: %w", loc, err)
	}
	var newFile func(io.Writer) (dataWriter, error)
	ext := ""
	switch format {
	case FormatCSV:
		newFile, ext = func(w io.Writer) (dataWriter, error) { return newCSVWriter(w, fs), nil }, ".csv.gz"
	case FormatParquet:
		newFile, ext = func(w io.Writer) (dataWriter, error) { return newParquetWriter(w, fs) }, ".parquet"
	default:
		return nil, fmt.Errorf("write an inventory report to %s: format %q: trashd writes %s or %s", loc, format, FormatCSV, FormatParquet)
	}
	created = created.UTC().Truncate(time.Millisecond)
	r := &Report{Location: loc, Date: date, Created: created, Format: format, Schema: schema}
	r.Versioned = hasOf(fs)&FieldVersion != 0

	w := &reportWriter{ctx: ctx, s: s, r: r, newFile: newFile, ext: ext}
	defer w.discard()
	rows(func(row Row) bool {
		w.err = w.add(row)
		return w.err == nil
	})
	if w.err == nil {
		w.err = w.finishFile()
	}
	if w.err != nil {
		return nil, fmt.Errorf("write an inventory report to %s: %w", loc, w.err)
	}
	if err := writeManifest(ctx, s, r, fs); err != nil {
		return nil, fmt.Errorf("write an inventory report to %s: %w", loc, err)
	}
	return r, nil
}

// reportWriter writes the data files of a report, one at a time.
type reportWriter struct {
	ctx     context.Context
	s       Store
	r       *Report
	newFile func(io.Writer) (dataWriter, error)
	ext     string
	err     error

	tmp  *os.File
	sum  hash.Hash
	data dataWriter
	n    int
}

// dataWriter writes the rows of one data file.
type dataWriter interface {
	write(Row) error
	close() error
}

func (w *reportWriter) add(row Row) error {
	if w.data == nil {
		tmp, err := os.CreateTemp("", "trashd-inventory-*")
		if err != nil {
			return err
		}
		w.tmp, w.sum, w.n = tmp, md5.New(), 0
		if w.data, err = w.newFile(io.MultiWriter(tmp, w.sum)); err != nil {
			return err
		}
	}
	if err := w.data.write(row); err != nil {
		return err
	}
	if w.n++; w.n%checkEvery == 0 && w.ctx.Err() != nil {
		return w.ctx.Err()
	}
	if w.n >= RowsPerFile {
		return w.finishFile()
	}
	return nil
}

// finishFile closes the data file being written and uploads it.
func (w *reportWriter) finishFile() error {
	if w.data == nil {
		return nil
	}
	defer w.discard()
	if err := w.data.close(); err != nil {
		return err
	}
	size, err := w.tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := w.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	f := File{Key: w.r.base() + "/data/" + newID() + w.ext, Size: size, MD5: hex.EncodeToString(w.sum.Sum(nil))}
	if err := w.s.Put(w.ctx, w.r.Bucket, f.Key, w.tmp, size); err != nil {
		return fmt.Errorf("put data file %s: %w", f.Key, err)
	}
	w.r.Files = append(w.r.Files, f)
	return nil
}

func (w *reportWriter) discard() {
	if w.tmp != nil {
		w.tmp.Close()
		os.Remove(w.tmp.Name())
	}
	w.tmp, w.data = nil, nil
}

// newID is a random UUID (version 4), as S3 names data files.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeManifest writes the Hive symlink.txt, manifest.json and then
// manifest.checksum, the MD5 of manifest.json in hex.
func writeManifest(ctx context.Context, s Store, r *Report, fs []field) error {
	m := manifest{
		SourceBucket:      r.SourceBucket,
		DestinationBucket: "arn:aws:s3:::" + r.Bucket,
		Version:           manifestVersion,
		CreationTimestamp: json.RawMessage(strconv.Quote(strconv.FormatInt(r.Created.UnixMilli(), 10))),
		FileFormat:        r.Format,
		FileSchema:        strings.Join(r.Schema, ", "),
		Files:             []manifestFile{},
	}
	if r.Format == FormatParquet {
		m.FileSchema = parquetMessage(fs)
	}
	var symlink strings.Builder
	for _, f := range r.Files {
		m.Files = append(m.Files, manifestFile{Key: f.Key, Size: f.Size, MD5checksum: f.MD5})
		fmt.Fprintf(&symlink, "s3://%s/%s\n", r.Bucket, f.Key)
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	sum := md5.Sum(body)
	dir := r.base() + "/" + r.Date + "/"
	for _, obj := range []struct {
		key  string
		body []byte
	}{
		{r.base() + "/hive/dt=" + r.Created.Format("2006-01-02-15-04") + "/symlink.txt", []byte(symlink.String())},
		{dir + "manifest.json", body},
		{dir + "manifest.checksum", []byte(hex.EncodeToString(sum[:]))},
	} {
		if err := s.Put(ctx, r.Bucket, obj.key, bytes.NewReader(obj.body), int64(len(obj.body))); err != nil {
			return fmt.Errorf("put %s: %w", obj.key, err)
		}
	}
	return nil
}

// csvWriter writes a CSV data file compressed with gzip, every field
// quoted as S3 quotes them.
type csvWriter struct {
	fs   []field
	buf  *bufio.Writer
	zw   *gzip.Writer
	line []byte
}

func newCSVWriter(w io.Writer, fs []field) *csvWriter {
	buf := bufio.NewWriterSize(w, 256<<10)
	return &csvWriter{fs: fs, buf: buf, zw: gzip.NewWriter(buf)}
}

func (c *csvWriter) write(row Row) error {
	c.line = c.line[:0]
	for i, f := range c.fs {
		if i > 0 {
			c.line = append(c.line, ',')
		}
		c.line = append(c.line, '"')
		c.line = append(c.line, strings.ReplaceAll(textOf(row, f), `"`, `""`)...)
		c.line = append(c.line, '"')
	}
	c.line = append(c.line, '\n')
	_, err := c.zw.Write(c.line)
	return err
}

func (c *csvWriter) close() error {
	return errors.Join(c.zw.Close(), c.buf.Flush())
}

// textOf is f of row as S3 writes it in a CSV report: keys encoded as a
// form is (space "+", "+" "%2B"; "/" left as it is), times in UTC to the
// millisecond, and nothing for what a delete marker does not have.
func textOf(row Row, f field) string {
	marker := row.IsDeleteMarker
	switch f.name {
	case "Bucket":
		return row.Bucket
	case "Key":
		return strings.ReplaceAll(url.QueryEscape(row.Key), "%2F", "/")
	case "VersionId":
		return row.VersionID
	case "IsLatest":
		return strconv.FormatBool(row.IsLatest)
	case "IsDeleteMarker":
		return strconv.FormatBool(row.IsDeleteMarker)
	case "Size":
		if !marker {
			return strconv.FormatInt(row.Size, 10)
		}
	case "LastModifiedDate":
		if !row.LastModified.IsZero() {
			return row.LastModified.UTC().Format("2006-01-02T15:04:05.000Z")
		}
	case "ETag":
		if !marker {
			return row.ETag
		}
	case "StorageClass":
		if !marker {
			return row.StorageClass
		}
	case "IsMultipartUploaded":
		if !marker {
			return strconv.FormatBool(row.IsMultipartUploaded)
		}
	case "ChecksumAlgorithm":
		if !marker {
			return row.ChecksumAlgorithm
		}
	}
	return ""
}

// orderedGroup is a Parquet group whose columns keep the order given
// (parquet.Group sorts them by name), so that a report's columns come in
// S3's order.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                      { return f.name }
func (f namedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }

// parquetMessage is fs as S3 writes a Parquet report's fileSchema, on one
// line: "message s3.inventory {  required binary bucket (STRING);  ...}".
func parquetMessage(fs []field) string {
	var b strings.Builder
	b.WriteString("message s3.inventory {")
	for _, f := range fs {
		rep := "optional"
		if f.name == "Bucket" || f.name == "Key" {
			rep = "required"
		}
		typ := map[kind]string{
			kindText: "binary %s (STRING)",
			kindBool: "boolean %s",
			kindInt:  "int64 %s",
			kindTime: "int64 %s (TIMESTAMP(MILLIS,true))",
		}[f.kind]
		fmt.Fprintf(&b, "  %s "+typ+";", rep, f.snake)
	}
	b.WriteString("}")
	return b.String()
}

// parquetSchema is the schema S3 writes for fs: Bucket and Key required,
// the rest optional; strings as STRING, times as TIMESTAMP(MILLIS,true).
func parquetSchema(fs []field) *parquet.Schema {
	g := orderedGroup{Group: parquet.Group{}}
	for _, f := range fs {
		var n parquet.Node
		switch f.kind {
		case kindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case kindInt:
			n = parquet.Leaf(parquet.Int64Type)
		case kindTime:
			n = parquet.TimestampAdjusted(parquet.Millisecond, true)
		default:
			n = parquet.String()
		}
		if f.name != "Bucket" && f.name != "Key" {
			n = parquet.Optional(n)
		}
		g.Group[f.snake] = n
		g.fields = append(g.fields, namedField{n, f.snake})
	}
	return parquet.NewSchema("s3.inventory", g)
}

// parquetWriter writes a Parquet data file.
type parquetWriter struct {
	fs     []field
	cols   []int // column index of fs[i]
	w      *parquet.Writer
	row    parquet.Row
	values [1]parquet.Row
}

func newParquetWriter(w io.Writer, fs []field) (*parquetWriter, error) {
	schema := parquetSchema(fs)
	p := &parquetWriter{fs: fs, row: make(parquet.Row, len(fs))}
	for _, f := range fs {
		leaf, ok := schema.Lookup(f.snake)
		if !ok {
			return nil, fmt.Errorf("parquet schema has no column %s", f.snake)
		}
		p.cols = append(p.cols, leaf.ColumnIndex)
	}
	p.w = parquet.NewWriter(w, schema, parquet.MaxRowsPerRowGroup(rowsPerGroup), parquet.Compression(&snappy.Codec{}))
	return p, nil
}

func (p *parquetWriter) write(row Row) error {
	for i, f := range p.fs {
		col := p.cols[i]
		text := textOf(row, f)
		var v parquet.Value
		switch {
		case text == "" && f.name != "Bucket" && f.name != "Key":
			p.row[col] = parquet.NullValue().Level(0, 0, col)
			continue
		case f.kind == kindBool:
			v = parquet.BooleanValue(text == "true")
		case f.kind == kindInt:
			v = parquet.Int64Value(row.Size)
		case f.kind == kindTime:
			v = parquet.Int64Value(row.LastModified.UnixMilli())
		case f.name == "Key":
			v = parquet.ByteArrayValue([]byte(row.Key)) // not URL-encoded in Parquet
		default:
			v = parquet.ByteArrayValue([]byte(text))
		}
		def := 1
		if f.name == "Bucket" || f.name == "Key" {
			def = 0
		}
		p.row[col] = v.Level(0, def, col)
	}
	p.values[0] = p.row
	_, err := p.w.WriteRows(p.values[:])
	return err
}

func (p *parquetWriter) close() error { return p.w.Close() }
