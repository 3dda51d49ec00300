package glacier_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/inventory"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// putInventory puts an inventory configuration with id on the test's
// bucket through the layer, reporting to dest under prefix "inv".
func (b *testBundle) putInventory(t *testing.T, id, dest string, format types.InventoryFormat, versions types.InventoryIncludedObjectVersions) {
	t.Helper()
	if _, err := b.c.PutBucketInventoryConfiguration(t.Context(), &s3.PutBucketInventoryConfigurationInput{
		Bucket: aws.String(b.bucket), Id: aws.String(id),
		InventoryConfiguration: &types.InventoryConfiguration{
			Id: aws.String(id), IsEnabled: aws.Bool(true), IncludedObjectVersions: versions,
			Destination: &types.InventoryDestination{S3BucketDestination: &types.InventoryS3BucketDestination{
				Bucket: aws.String("arn:aws:s3:::" + dest), Format: format, Prefix: aws.String("inv"),
			}},
			Schedule: &types.InventorySchedule{Frequency: types.InventoryFrequencyDaily},
			OptionalFields: []types.InventoryOptionalField{types.InventoryOptionalFieldSize, types.InventoryOptionalFieldLastModifiedDate,
				types.InventoryOptionalFieldStorageClass, types.InventoryOptionalFieldETag},
		},
	}); err != nil {
		t.Fatalf("put inventory configuration %s: %v", id, err)
	}
}

// reportOf reads the newest report of the test's bucket in dest, straight
// from the server, and its rows by key (and version).
func (b *testBundle) reportOf(t *testing.T, dest, id string) (*inventory.Report, []inventory.Row) {
	t.Helper()
	store := s3test.NewClient(t, s3test.Options(t)).InventoryStore()
	r, err := inventory.Latest(t.Context(), store, inventory.Location{Bucket: dest, Prefix: "inv", SourceBucket: b.bucket, ConfigID: id})
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	var rows []inventory.Row
	if err := r.Rows(t.Context(), store, func(row inventory.Row) error { rows = append(rows, row); return nil }); err != nil {
		t.Fatalf("Rows: %v", err)
	}
	return r, rows
}

// A sweep writes a report of a bucket with an inventory configuration, in
// the format configured, that says what HEAD says; a day later on the
// layer's clock the next sweep writes the next one, after the day's
// transitions, with the LastModified reads give.
func TestInventoryReport(t *testing.T) {
	t.Parallel()
	for _, format := range []types.InventoryFormat{types.InventoryFormatCsv, types.InventoryFormatParquet} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			b := setup(t, glacier.Config{DayLength: time.Hour, MinTransitionSize: 1})
			dest := s3test.NewBucket(t, b.direct, "inventory-dest")
			keys := []string{"a b.txt", "x+y/ü 1%.bin", "old.pdf"}
			for i, k := range keys {
				class := types.StorageClassStandard
				if k == "old.pdf" {
					class = types.StorageClassGlacier
				}
				b.putClass(t, k, s3test.RandomBytes(100*(i+1)), class)
			}
			b.putInventory(t, "trashd", dest, format, types.InventoryIncludedObjectVersionsCurrent)
			b.sweep(t)

			r, rows := b.reportOf(t, dest, "trashd")
			if r.Format != string(format) || len(rows) != len(keys) {
				t.Fatalf("report in %s with %d rows: %+v; want %s, %d rows", r.Format, len(rows), rows, format, len(keys))
			}
			first := r.Date
			b.checkRows(t, rows)

			// A lifecycle day later: "a b.txt" is moved, and the next report
			// says so.
			b.putLifecycle(t, types.LifecycleRule{ID: aws.String("a"), Status: types.ExpirationStatusEnabled,
				Filter:      &types.LifecycleRuleFilter{Prefix: aws.String("a ")},
				Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassGlacier}}})
			if err := b.layer.Advance(t.Context(), 2*time.Hour); err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if got := b.class(t, "a b.txt"); got != "GLACIER" {
				t.Fatalf("a b.txt is %s after two days; want GLACIER", got)
			}
			r, rows = b.reportOf(t, dest, "trashd")
			if r.Date == first {
				t.Fatalf("no new report after a day: still %s", first)
			}
			b.checkRows(t, rows)

			// Not due again: a sweep now writes nothing.
			b.sweep(t)
			store := s3test.NewClient(t, s3test.Options(t)).InventoryStore()
			_, folders, err := store.List(t.Context(), dest, "inv/"+b.bucket+"/trashd/", "/")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(folders); n != 4 { // two reports, data/ and hive/
				t.Errorf("folders %q; want two reports, data/ and hive/", folders)
			}
		})
	}
}

// checkRows compares each row with what a HEAD through the layer says.
func (b *testBundle) checkRows(t *testing.T, rows []inventory.Row) {
	t.Helper()
	for _, row := range rows {
		h, err := b.c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(row.Key)})
		if err != nil {
			t.Fatalf("head %q (from the report): %v", row.Key, err)
		}
		class := string(h.StorageClass)
		if class == "" {
			class = "STANDARD"
		}
		if row.Bucket != b.bucket || !row.IsLatest || row.Size != aws.ToInt64(h.ContentLength) || row.ETag != strings.Trim(aws.ToString(h.ETag), `"`) ||
			row.StorageClass != class || !row.LastModified.Equal(aws.ToTime(h.LastModified)) {
			t.Errorf("row %+v; HEAD says size %d, ETag %s, class %s, LastModified %v",
				row, aws.ToInt64(h.ContentLength), aws.ToString(h.ETag), class, aws.ToTime(h.LastModified))
		}
	}
}

// A configuration of all versions lists every version and delete marker.
func TestInventoryReportVersions(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour})
	dest := s3test.NewBucket(t, b.direct, "inventory-dest")
	s3test.EnableVersioning(t, b.direct, b.bucket)
	v1 := s3test.PutObject(t, b.direct, b.bucket, "doc 1", []byte("one"))
	v2 := s3test.PutObject(t, b.direct, b.bucket, "doc 1", []byte("two!"))
	del, err := b.direct.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String("doc 1")})
	if err != nil {
		t.Fatal(err)
	}
	keep := s3test.PutObject(t, b.direct, b.bucket, "keep", []byte("kept"))
	b.putInventory(t, "versions", dest, types.InventoryFormatParquet, types.InventoryIncludedObjectVersionsAll)
	b.sweep(t)

	r, rows := b.reportOf(t, dest, "versions")
	if !r.Versioned {
		t.Error("report not versioned")
	}
	type v struct {
		key, id        string
		latest, marker bool
		size           int64
	}
	var got []v
	for _, row := range rows {
		got = append(got, v{row.Key, row.VersionID, row.IsLatest, row.IsDeleteMarker, row.Size})
	}
	want := []v{
		{"doc 1", aws.ToString(del.VersionId), true, true, 0},
		{"doc 1", aws.ToString(v2.VersionId), false, false, 4},
		{"doc 1", aws.ToString(v1.VersionId), false, false, 3},
		{"keep", aws.ToString(keep.VersionId), true, false, 4},
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n got %+v\nwant %+v", got, want)
	}
}

// The configuration API answers as S3's does: by id, NoSuchConfiguration
// for one that is not there, MalformedXML and InvalidArgument for a bad one.
func TestInventoryConfigurationAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour})
	_, err := b.c.GetBucketInventoryConfiguration(t.Context(), &s3.GetBucketInventoryConfigurationInput{Bucket: aws.String(b.bucket), Id: aws.String("none")})
	wantError(t, "get a missing configuration", err, http.StatusNotFound, "NoSuchConfiguration")
	_, err = b.c.DeleteBucketInventoryConfiguration(t.Context(), &s3.DeleteBucketInventoryConfigurationInput{Bucket: aws.String(b.bucket), Id: aws.String("none")})
	wantError(t, "delete a missing configuration", err, http.StatusNotFound, "NoSuchConfiguration")

	doc := func(id, format, bucket string) []byte {
		return []byte(`<InventoryConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Destination><S3BucketDestination>` +
			`<Bucket>` + bucket + `</Bucket><Format>` + format + `</Format></S3BucketDestination></Destination><IsEnabled>true</IsEnabled>` +
			`<Id>` + id + `</Id><IncludedObjectVersions>Current</IncludedObjectVersions><Schedule><Frequency>Daily</Frequency></Schedule></InventoryConfiguration>`)
	}
	for _, c := range []struct {
		name, query string
		body        []byte
		status      int
		code        string
	}{
		{"good", "?inventory&id=x", doc("x", "CSV", "arn:aws:s3:::dest"), http.StatusOK, ""},
		{"unknown format", "?inventory&id=y", doc("y", "XML", "arn:aws:s3:::dest"), http.StatusBadRequest, "MalformedXML"},
		{"id not the query's", "?inventory&id=y", doc("z", "CSV", "arn:aws:s3:::dest"), http.StatusBadRequest, "InvalidArgument"},
		{"bucket not an ARN", "?inventory&id=y", doc("y", "CSV", "dest"), http.StatusBadRequest, "InvalidArgument"},
		{"no id", "?inventory", doc("y", "CSV", "arn:aws:s3:::dest"), http.StatusBadRequest, "InvalidArgument"},
	} {
		resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+c.query, c.body, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.code) {
			t.Errorf("%s: %d %s; want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
	list, err := b.c.ListBucketInventoryConfigurations(t.Context(), &s3.ListBucketInventoryConfigurationsInput{Bucket: aws.String(b.bucket)})
	if err != nil || len(list.InventoryConfigurationList) != 1 || aws.ToString(list.InventoryConfigurationList[0].Id) != "x" {
		t.Errorf("list: %+v, %v; want x alone", list, err)
	}
}

// With lifecycle days shorter than a minute, reports come faster than one
// a minute: each goes into a folder of its own, named for the minute after
// the last one, its creationTimestamp the instant it was taken. (Days of
// 50 s: the background sweeps write no report of their own while the test
// runs.)
func TestInventoryReportsWithinAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: 50 * time.Second})
	dest := s3test.NewBucket(t, b.direct, "inventory-dest")
	s3test.PutObject(t, b.direct, b.bucket, "one", []byte("1"))
	b.clock.Set(time.Date(2026, 12, 1, 12, 0, 5, 0, time.UTC))
	b.putInventory(t, "fast", dest, types.InventoryFormatCsv, types.InventoryIncludedObjectVersionsCurrent)
	b.sweep(t)
	first, _ := b.reportOf(t, dest, "fast")
	s3test.PutObject(t, b.direct, b.bucket, "two", []byte("2"))
	if err := b.layer.Advance(t.Context(), 50*time.Second); err != nil {
		t.Fatal(err)
	}
	second, rows := b.reportOf(t, dest, "fast")
	if first.Date != "2026-12-01T12-00Z" || second.Date != "2026-12-01T12-01Z" || second.Created.Minute() != 0 || !second.Created.After(first.Created) {
		t.Errorf("reports %s (created %v) then %s (created %v); want 2026-12-01T12-00Z, then 2026-12-01T12-01Z created later in minute 12:00",
			first.Date, first.Created, second.Date, second.Created)
	}
	if len(rows) != 2 {
		t.Errorf("the second report has %d rows, want 2 (one and two)", len(rows))
	}

	// A folder further on, as an earlier run of the layer may have left:
	// the next report goes after it, not behind it.
	s3test.PutObject(t, b.direct, dest, "inv/"+b.bucket+"/fast/2026-12-01T14-00Z/manifest.json", []byte("{}"))
	if err := b.layer.Advance(t.Context(), 50*time.Second); err != nil {
		t.Fatal(err)
	}
	if third, _ := b.reportOf(t, dest, "fast"); third.Date != "2026-12-01T14-01Z" {
		t.Errorf("the report after a folder of 14:00 is in %s, want 2026-12-01T14-01Z", third.Date)
	}
}
