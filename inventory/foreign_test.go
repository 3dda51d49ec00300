package inventory_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"trashd/inventory"
)

// awsParquetRow is a row of a Parquet report as another writer than
// inventory.Write makes it: columns in whatever order the struct gives,
// timestamps in microseconds, nulls where S3 writes none.
type awsParquetRow struct {
	Key            string     `parquet:"key"`
	Bucket         string     `parquet:"bucket"`
	VersionID      *string    `parquet:"version_id,optional"`
	IsLatest       *bool      `parquet:"is_latest,optional"`
	IsDeleteMarker *bool      `parquet:"is_delete_marker,optional"`
	Size           *int64     `parquet:"size,optional"`
	LastModified   *time.Time `parquet:"last_modified_date,optional,timestamp(microsecond)"`
	ETag           *string    `parquet:"e_tag,optional"`
	StorageClass   *string    `parquet:"storage_class,optional"`
	ReplicationSt  *string    `parquet:"replication_status,optional"`
}

// A Parquet report that inventory.Write did not make, with S3's manifest
// as AWS's documentation shows it (fileSchema a Parquet message), reads by
// column name: keys as they are (Parquet does not URL-encode them),
// timestamps in the file's unit, a column trashd does not use skipped.
func TestForeignParquet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lm := time.Date(2026, 11, 28, 9, 30, 15, 250_000_000, time.UTC)
	ptr := func(s string) *string { return &s }
	yes, no := true, false
	size := int64(4711)
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[awsParquetRow](&buf)
	if _, err := w.Write([]awsParquetRow{
		{Key: "a+b c%20.txt", Bucket: "lms-files", VersionID: ptr("v2"), IsLatest: &yes, IsDeleteMarker: &no, Size: &size, LastModified: &lm,
			ETag: ptr("0123456789abcdef0123456789abcdef"), StorageClass: ptr("GLACIER"), ReplicationSt: ptr("COMPLETED")},
		{Key: "a+b c%20.txt", Bucket: "lms-files", VersionID: ptr("v1"), IsLatest: &no, IsDeleteMarker: &yes, LastModified: &lm},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	key := "reports/lms-files/trashd/data/d754c470-85bb-4255-9218-47023c8b4910.parquet"
	b.put(t, key, data)
	b.putManifest(t, "2026-11-29T00-00Z", fmt.Sprintf(`{
    "sourceBucket": "lms-files",
    "destinationBucket": "arn:aws:s3:::%s",
    "version": "2016-11-30",
    "creationTimestamp" : "1764374400000",
    "fileFormat": "Parquet",
    "fileSchema": "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary version_id (UTF8); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); optional binary replication_status (UTF8); }",
    "files": [
        {
           "key": %q,
            "size": %d,
            "MD5checksum": %q
        }
    ]
}`, b.loc.Bucket, key, len(data), md5hex(data)))
	r := b.latest(t)
	if want := []string{"Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag", "StorageClass", "ReplicationStatus"}; !slices.Equal(r.Schema, want) || !r.Versioned {
		t.Errorf("schema %q (versioned %t), want %q, versioned", r.Schema, r.Versioned, want)
	}
	got, err := b.read(t, r)
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	has := inventory.FieldVersion | inventory.FieldSize | inventory.FieldLastModified | inventory.FieldETag | inventory.FieldStorageClass | inventory.FieldReplicationStatus
	compareRows(t, got, []inventory.Row{
		{Bucket: "lms-files", Key: "a+b c%20.txt", VersionID: "v2", IsLatest: true, Size: 4711, LastModified: lm,
			ETag: "0123456789abcdef0123456789abcdef", StorageClass: "GLACIER", Has: has},
		{Bucket: "lms-files", Key: "a+b c%20.txt", VersionID: "v1", IsDeleteMarker: true, LastModified: lm, Has: has},
	})
}

// A column S3 adds that trashd does not know is skipped in a CSV report;
// a line with a column too few is an error naming the file and line.
func TestCSVColumns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := gz(t, `"lms-files","k1","GLACIER","NEW","10"`+"\n"+`"lms-files","k2","STANDARD","NEW","20"`+"\n")
	key := "reports/lms-files/trashd/data/one.csv.gz"
	b.put(t, key, data)
	manifest := func(schema string, size int, sum string) string {
		return fmt.Sprintf(`{"sourceBucket":"lms-files","destinationBucket":"arn:aws:s3:::%s","version":"2016-11-30","creationTimestamp":"1764374400000",
"fileFormat":"CSV","fileSchema":%q,"files":[{"key":%q,"size":%d,"MD5checksum":%q}]}`, b.loc.Bucket, schema, key, size, sum)
	}
	b.putManifest(t, "2026-11-29T00-00Z", manifest("Bucket, Key, StorageClass, SomeFutureField, Size", len(data), md5hex(data)))
	got, err := b.read(t, b.latest(t))
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if len(got) != 2 || got[0].Key != "k1" || got[0].StorageClass != "GLACIER" || got[0].Size != 10 || got[1].Size != 20 {
		t.Errorf("rows %+v", got)
	}

	short := gz(t, `"lms-files","k1","GLACIER","10"`+"\n"+`"lms-files","k2","STANDARD"`+"\n")
	b.put(t, key, short)
	b.putManifest(t, "2026-11-30T00-00Z", manifest("Bucket, Key, StorageClass, Size", len(short), md5hex(short)))
	got, err = b.read(t, b.latest(t))
	wantError(t, "Rows of a short line", err, key, "line 2", "fileSchema")
	if len(got) != 1 {
		t.Errorf("%d rows before the bad line, want 1", len(got))
	}
}

// Bad input to Latest and Write is refused with what is wrong, and Write
// writes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	_, err := inventory.Latest(ctx, b.s, inventory.Location{Bucket: b.loc.Bucket, SourceBucket: "lms-files", ConfigID: "a/b"})
	wantError(t, "Latest with a slash in the id", err, "configuration id", "a/b")
	_, err = inventory.Write(ctx, b.s, b.loc, day0, inventory.FormatCSV, []string{"Bucket", "Key", "Colour", "Size", "Size"}, all(sampleRows()))
	wantError(t, "Write an unknown field", err, `"Colour" is not an S3 Inventory field`, "Size is listed twice")
	_, err = inventory.Write(ctx, b.s, b.loc, day0, inventory.FormatParquet, []string{"Key", "VersionId"}, all(sampleRows()))
	wantError(t, "Write without Bucket", err, "Bucket is missing", "VersionId, IsLatest and IsDeleteMarker come together")
	_, err = inventory.WriteDated(ctx, b.s, b.loc, "2026-11-30", day0, inventory.FormatCSV, inventory.DefaultSchema(false), all(sampleRows()))
	wantError(t, "WriteDated into a folder that is not a date", err, `folder "2026-11-30"`, "YYYY-MM-DDTHH-MMZ")
	keys, _, err := b.s.List(ctx, b.loc.Bucket, "", "")
	if err != nil || len(keys) != 0 {
		t.Errorf("after refused writes the bucket holds %q (%v); want nothing", keys, err)
	}

	// An error from the caller's function stops Rows and comes back as it is.
	r := b.write(t, day0, inventory.FormatCSV, inventory.DefaultSchema(false), sampleRows())
	stop := fmt.Errorf("enough")
	n := 0
	err = r.Rows(ctx, b.s, func(inventory.Row) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("Rows stopped by its function: %v after %d rows; want %v after 3", err, n, stop)
	}
}
