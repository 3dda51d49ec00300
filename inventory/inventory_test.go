package inventory_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"trashd/inventory"
)

// A report written in either format, with its fields in S3's order or
// another, reads back row for row, keys decoded.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	awsOrder := inventory.DefaultSchema(false)
	shuffled := []string{"StorageClass", "Size", "Key", "ETag", "ChecksumAlgorithm", "Bucket", "LastModifiedDate", "IsMultipartUploaded"}
	for _, format := range []string{inventory.FormatCSV, inventory.FormatParquet} {
		for name, schema := range map[string][]string{"aws order": awsOrder, "shuffled": shuffled} {
			t.Run(format+" "+name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				want := sampleRows()
				written := b.write(t, day0, format, schema, want)
				r := b.latest(t)
				if r.Date != "2026-11-30T01-00Z" || !r.Created.Equal(day0) || r.Format != format || r.Versioned || len(r.Skipped) != 0 {
					t.Errorf("Latest = date %s created %v format %s versioned %t skipped %q; want 2026-11-30T01-00Z, %v, %s, unversioned, none",
						r.Date, r.Created, r.Format, r.Versioned, r.Skipped, day0, format)
				}
				if format == inventory.FormatCSV && !slices.Equal(r.Schema, schema) {
					t.Errorf("schema %q, want %q", r.Schema, schema)
				}
				if len(r.Files) != 1 || r.Files[0] != written.Files[0] {
					t.Errorf("files %+v, want %+v", r.Files, written.Files)
				}
				got, err := b.read(t, r)
				if err != nil {
					t.Fatalf("Rows: %v", err)
				}
				has := inventory.FieldSize | inventory.FieldLastModified | inventory.FieldETag | inventory.FieldStorageClass |
					inventory.FieldChecksumAlgorithm | inventory.FieldIsMultipartUploaded
				for i := range want {
					want[i].Has = has
				}
				compareRows(t, got, want)
			})
		}
	}
}

func compareRows(t *testing.T, got, want []inventory.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.LastModified.Equal(w.LastModified) {
			t.Errorf("row %d LastModified %v, want %v", i, g.LastModified, w.LastModified)
		}
		g.LastModified, w.LastModified = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// S3 URL-encodes keys in CSV reports as a form is encoded: a space is "+",
// a "+" is "%2B". The data file shows it, and a report written by hand
// the way S3 writes one reads back decoded.
func TestCSVKeysURLEncoded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.write(t, day0, inventory.FormatCSV, []string{"Bucket", "Key", "Size"}, sampleRows())
	raw := string(gunzip(t, b.get(t, r.Files[0].Key)))
	for _, enc := range []string{`"lms-files","a+b.txt"`, `"lms-files","a%2Bb.txt"`, `"lms-files","100%25.csv"`, "%D0%BA%D1%83%D1%80%D1%81/%C3%9Cbung+1+%2B+2+%28final%29.pdf"} {
		if !strings.Contains(raw, enc) {
			t.Errorf("data file lacks %s:\n%s", enc, raw)
		}
	}

	// As S3 writes one: its manifest layout, a key per line, quoted.
	b2 := setup(t)
	data := gz(t, `"lms-files","a+b.txt","12"`+"\n"+`"lms-files","a%2Bb.txt","13"`+"\n"+`"lms-files","100%25.csv","14"`+"\n"+
		`"lms-files","%E8%AA%B2%E9%A1%8C/%E6%8F%90%E5%87%BA+%E7%89%A9%2B.docx","15"`+"\n")
	key := "reports/lms-files/trashd/data/4b1c7c3e-05f6-4a5b-9e4c-2f8d2b9d1a11.csv.gz"
	b2.put(t, key, data)
	b2.putManifest(t, "2026-11-29T01-00Z", fmt.Sprintf(`{
  "sourceBucket" : "lms-files",
  "destinationBucket" : "arn:aws:s3:::%s",
  "version" : "2016-11-30",
  "creationTimestamp" : "1764378000000",
  "fileFormat" : "CSV",
  "fileSchema" : "Bucket, Key, Size",
  "files" : [ {
    "key" : %q,
    "size" : %d,
    "MD5checksum" : %q
  } ]
}`, b2.loc.Bucket, key, len(data), md5hex(data)))
	r2 := b2.latest(t)
	if want := time.UnixMilli(1764378000000).UTC(); !r2.Created.Equal(want) {
		t.Errorf("created %v, want %v", r2.Created, want)
	}
	got, err := b2.read(t, r2)
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	var gotKeys []string
	for _, row := range got {
		gotKeys = append(gotKeys, fmt.Sprintf("%s=%d", row.Key, row.Size))
	}
	if want := []string{"a b.txt=12", "a+b.txt=13", "100%.csv=14", "課題/提出 物+.docx=15"}; !slices.Equal(gotKeys, want) {
		t.Errorf("keys %q, want %q", gotKeys, want)
	}
}

// A versioned report carries every version and delete marker, with
// IsLatest and VersionId.
func TestVersionedReport(t *testing.T) {
	t.Parallel()
	for _, format := range []string{inventory.FormatCSV, inventory.FormatParquet} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			lm := day0.Add(-48 * time.Hour)
			want := []inventory.Row{
				{Bucket: "lms-files", Key: "a b.txt", VersionID: "v3", IsLatest: true, IsDeleteMarker: true, LastModified: lm.Add(2 * time.Hour)},
				{Bucket: "lms-files", Key: "a b.txt", VersionID: "v2", Size: 20, ETag: "e2", StorageClass: "GLACIER", LastModified: lm.Add(time.Hour)},
				{Bucket: "lms-files", Key: "a b.txt", VersionID: "v1", Size: 10, ETag: "e1", StorageClass: "STANDARD", LastModified: lm},
				{Bucket: "lms-files", Key: "k+2", VersionID: "null", IsLatest: true, Size: 5, ETag: "e5", StorageClass: "GLACIER", LastModified: lm},
			}
			b.write(t, day0, format, []string{"Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag", "StorageClass"}, want)
			r := b.latest(t)
			if !r.Versioned {
				t.Error("report not versioned")
			}
			got, err := b.read(t, r)
			if err != nil {
				t.Fatalf("Rows: %v", err)
			}
			has := inventory.FieldVersion | inventory.FieldSize | inventory.FieldLastModified | inventory.FieldETag | inventory.FieldStorageClass
			for i := range want {
				want[i].Has = has
			}
			compareRows(t, got, want)
		})
	}
}

// Latest takes the newest report that has both manifest files and passes
// over a newer one S3 is still writing, saying so; with none complete it
// says what it found.
func TestLatestSkipsPartial(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, day0, inventory.FormatParquet, inventory.DefaultSchema(false), sampleRows()[:2])
	newer := b.write(t, day0.Add(24*time.Hour), inventory.FormatParquet, inventory.DefaultSchema(false), sampleRows())
	// Newer still: a folder with data and manifest.json, no checksum yet.
	newest := b.write(t, day0.Add(48*time.Hour), inventory.FormatCSV, inventory.DefaultSchema(false), sampleRows())
	b.remove(t, strings.TrimSuffix(newest.ManifestKey(), "manifest.json")+"manifest.checksum")
	// And one with nothing but data so far.
	b.put(t, "reports/lms-files/trashd/2026-12-03T01-00Z/unrelated", []byte("x"))

	r := b.latest(t)
	if r.Date != newer.Date || r.Format != inventory.FormatParquet {
		t.Fatalf("Latest = %s (%s), want %s", r.Date, r.Format, newer.Date)
	}
	if want := []string{"2026-12-03T01-00Z: no manifest.json", "2026-12-02T01-00Z: manifest.json without manifest.checksum"}; !slices.Equal(r.Skipped, want) {
		t.Errorf("skipped %q, want %q", r.Skipped, want)
	}
	got, err := b.read(t, r)
	if err != nil || len(got) != len(keys) {
		t.Fatalf("Rows: %d rows, %v; want %d", len(got), err, len(keys))
	}

	empty := setup(t)
	_, err = inventory.Latest(t.Context(), empty.s, empty.loc)
	if !isNoReport(err) {
		t.Errorf("Latest of nothing: %v, want ErrNoReport", err)
	}
	wantError(t, "Latest of nothing", err, empty.loc.Bucket, "48 hours", `configuration "trashd"`)

	empty.write(t, day0, inventory.FormatCSV, inventory.DefaultSchema(false), sampleRows())
	empty.remove(t, "reports/lms-files/trashd/2026-11-30T01-00Z/manifest.checksum")
	_, err = inventory.Latest(t.Context(), empty.s, empty.loc)
	if !isNoReport(err) {
		t.Errorf("Latest of a partial report: %v, want ErrNoReport", err)
	}
	wantError(t, "Latest of a partial report", err, "none complete", "2026-11-30T01-00Z: manifest.json without manifest.checksum")
}

// A manifest.json whose MD5 is not manifest.checksum is refused, and no
// older report is taken in its place.
func TestManifestChecksumMismatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, day0, inventory.FormatCSV, inventory.DefaultSchema(false), sampleRows())
	r := b.write(t, day0.Add(24*time.Hour), inventory.FormatCSV, inventory.DefaultSchema(false), sampleRows())
	body := b.get(t, r.ManifestKey())
	b.put(t, r.ManifestKey(), []byte(strings.Replace(string(body), `"sourceBucket"`, ` "sourceBucket"`, 1)))
	_, err := inventory.Latest(t.Context(), b.s, b.loc)
	wantError(t, "Latest", err, "damaged", "manifest.checksum", "s3://"+b.loc.Bucket+"/reports/lms-files/trashd/2026-12-01T01-00Z/", "none older")
	if isNoReport(err) {
		t.Errorf("a damaged report is not a missing one: %v", err)
	}
}

// A data file whose MD5 is not the manifest's is refused before any of its
// rows is yielded, naming the file.
func TestDataFileMD5Mismatch(t *testing.T) {
	t.Parallel()
	for _, format := range []string{inventory.FormatCSV, inventory.FormatParquet} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			w := b.write(t, day0, format, inventory.DefaultSchema(false), sampleRows())
			other := setup(t)
			o := other.write(t, day0, format, inventory.DefaultSchema(false), sampleRows()[1:])
			// A valid file of the same format, but not the one listed.
			b.put(t, w.Files[0].Key, other.get(t, o.Files[0].Key))
			got, err := b.read(t, b.latest(t))
			wantError(t, "Rows", err, "damaged", "MD5", w.Files[0].MD5, w.Files[0].Key, "none of its rows")
			if len(got) != 0 {
				t.Errorf("%d rows yielded from a damaged file", len(got))
			}
		})
	}
}

// A data file the manifest lists but the bucket lacks is an error naming
// it; rows of the files before it have been yielded.
func TestMissingDataFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rows := make([]inventory.Row, inventory.RowsPerFile+10)
	for i := range rows {
		rows[i] = inventory.Row{Bucket: "lms-files", Key: fmt.Sprintf("k/%07d", i), Size: int64(i)}
	}
	w := b.write(t, day0, inventory.FormatCSV, []string{"Bucket", "Key", "Size"}, rows)
	if len(w.Files) != 2 {
		t.Fatalf("%d data files, want 2", len(w.Files))
	}
	b.remove(t, w.Files[1].Key)
	got, err := b.read(t, b.latest(t))
	wantError(t, "Rows", err, "missing", "data file 2 of 2", w.Files[1].Key, "cannot be used")
	if len(got) != inventory.RowsPerFile {
		t.Errorf("%d rows before the missing file, want %d", len(got), inventory.RowsPerFile)
	}
}

// An ORC report is refused with a message that says to configure CSV or
// Parquet.
func TestORCRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putManifest(t, "2026-11-30T01-00Z", `{
    "sourceBucket": "lms-files",
    "destinationBucket": "arn:aws:s3:::`+b.loc.Bucket+`",
    "version": "2016-11-30",
    "creationTimestamp" : "1764464400000",
    "fileFormat": "ORC",
    "fileSchema": "struct<bucket:string,key:string,size:bigint,last_modified_date:timestamp,e_tag:string,storage_class:string>",
    "files": [ { "key": "reports/lms-files/trashd/data/d794c570-95bb-4271-9128-26023c8b4900.orc", "size": 56291, "MD5checksum": "5925f4e78e1695c2d020b9f6e0b5a3c1" } ]
}`)
	_, err := inventory.Latest(t.Context(), b.s, b.loc)
	wantError(t, "Latest", err, "ORC", "Parquet", "CSV", "manifest.json")

	_, err = inventory.Write(t.Context(), b.s, b.loc, day0, inventory.FormatORC, inventory.DefaultSchema(false), all(nil))
	wantError(t, "Write ORC", err, "ORC", "CSV or Parquet")
}
