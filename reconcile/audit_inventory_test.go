package reconcile_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/inventories"
	"trashd/internal/testworld"
	"trashd/inventory"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// reports is the Inventories of w: the trash bucket's reports at w.place,
// the source buckets' under the prefix "sources".
func (w *invWorld) reports() inventories.Reports {
	return inventories.Reports{Store: w.store, Trash: w.Trash, Config: reconcile.InventoryConfig{
		Trash: w.place, Sources: reconcile.InventoryPlace{Bucket: w.dest, Prefix: "sources", ID: "lms"}, MaxAge: 48 * time.Hour,
	}}
}

// writeSourceReport writes a report of the source bucket taken at created.
func (w *invWorld) writeSourceReport(t *testing.T, created time.Time, rows []inventory.Row) {
	t.Helper()
	loc := inventory.Location{Bucket: w.dest, Prefix: "sources", SourceBucket: w.Source, ConfigID: "lms"}
	_, err := inventory.Write(t.Context(), w.store, loc, created, inventory.FormatParquet, inventory.DefaultSchema(false), func(yield func(inventory.Row) bool) {
		for _, r := range rows {
			r.Bucket = w.Source
			if !yield(r) {
				return
			}
		}
	})
	testworld.Must(t, err)
}

// audit --inventory: a record the report lists intact is checked without a
// request; the rest are looked at with HEAD, and only what HEAD finds wrong
// is a problem: other bytes at the trash key, and an archived record whose
// copy the report and HEAD both say is STANDARD. A report that is wrong
// where S3 is right (an ETag) flags nothing.
func TestAuditFromInventory(t *testing.T) {
	t.Parallel()
	w := newInvWorld(t)
	healthy := w.AddFile(t, "audit/healthy.pdf", testworld.Body("healthy", 1200), true, 0)
	replaced := w.AddFile(t, "audit/replaced.pdf", testworld.Body("replaced", 1300), true, 0)
	reportWrong := w.AddFile(t, "audit/report wrong.pdf", testworld.Body("wrong", 1400), true, 0)
	notArchived := w.AddFile(t, "audit/not-archived.pdf", testworld.Body("cold", 1500), true, 0)
	run(t, w.Runner(t, w.Config("owner-audit")))
	execBehind(t, w.Env, "UPDATE trash_objects SET state = 'archived', storage_class = 'GLACIER' WHERE lms_id = ?", notArchived)
	c := map[int64]copyOf{}
	for _, id := range []int64{healthy, replaced, reportWrong, notArchived} {
		c[id] = w.copyOf(t, id)
	}
	// Other bytes at the replaced record's trash key, as the report lists them.
	s3test.PutObject(t, w.SDK, w.Trash, c[replaced].key, testworld.Body("other bytes", 1300))
	c[replaced] = w.copyOf(t, replaced)
	row := func(cp copyOf, class string) inventory.Row {
		return inventory.Row{Key: cp.key, IsLatest: true, Size: cp.size, ETag: cp.etag, StorageClass: class}
	}
	wrong := row(c[reportWrong], "STANDARD")
	wrong.ETag = "00000000000000000000000000000000"
	w.writeReport(t, w.dbNow(t), inventory.FormatParquet, inventory.DefaultSchema(false),
		[]inventory.Row{row(c[healthy], "STANDARD"), row(c[replaced], "STANDARD"), wrong, row(c[notArchived], "STANDARD")})

	// With a partition of one, the audit joins through temporary files.
	for _, part := range []int{0, 1} {
		t.Run(fmt.Sprintf("partition %d", part), func(t *testing.T) {
			w.ops.reset()
			found := map[int64]string{}
			sum, err := reconcile.InventoryAudit{
				Records: w.Store, Reports: w.reports(), Objects: w.S3, TrashBucket: w.Trash, ArchiveClass: "GLACIER",
				Concurrency: 4, MaxAge: 48 * time.Hour, PartitionSize: part,
			}.Run(t.Context(), func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
				found[rec.LMSID] = string(result) + ": " + detail
			})
			if err != nil {
				t.Fatalf("inventory audit: %v", err)
			}
			if sum.Problems != 2 || sum.Checked != 4 || sum.FromReports != 1 || sum.Headed != 3 {
				t.Errorf("summary %+v: want 4 checked, 2 problems, 1 from the report, 3 looked at with HEAD", sum)
			}
			if _, ok := found[healthy]; ok {
				t.Errorf("the healthy record was reported: %s", found[healthy])
			}
			if _, ok := found[reportWrong]; ok {
				t.Errorf("the record the report was wrong about was reported: %s", found[reportWrong])
			}
			if f := found[replaced]; !strings.Contains(f, "problem") || !strings.Contains(f, "differs from what was recorded") {
				t.Errorf("the replaced copy: %q, want a problem naming other bytes", f)
			}
			if f := found[notArchived]; !strings.Contains(f, "problem") || !strings.Contains(f, "is in STANDARD") {
				t.Errorf("the record archived in STANDARD: %q, want a problem naming the class", f)
			}
			// replaced, reportWrong: one HEAD each; notArchived: the audit's and the class's.
			if got := w.ops.of("HeadObject"); got != 4 {
				t.Errorf("%d HEADs, want 4: none for the record the report shows intact", got)
			}
		})
	}

}

// audit --inventory refuses a report older than the maximum age, and a
// trash bucket without an inventory, naming the setting.
func TestAuditFromInventoryRefusesStaleReport(t *testing.T) {
	t.Parallel()
	w := newInvWorld(t)
	w.AddFile(t, "audit/x.pdf", testworld.Body("x", 1000), true, 0)
	run(t, w.Runner(t, w.Config("owner-audit")))
	created := w.dbNow(t)
	w.writeReport(t, created, inventory.FormatCSV, inventory.DefaultSchema(false), nil)
	a := reconcile.InventoryAudit{Records: w.Store, Reports: w.reports(), Objects: w.S3, TrashBucket: w.Trash, ArchiveClass: "GLACIER",
		Concurrency: 2, MaxAge: time.Hour, Now: func() time.Time { return created.Add(2 * time.Hour) }}
	w.ops.reset()
	_, err := a.Run(t.Context(), func(reconcile.Record, reconcile.AuditResult, string) {})
	if err == nil || !strings.Contains(err.Error(), "TRASHD_INVENTORY_MAX_AGE") {
		t.Errorf("stale report: %v, want a refusal naming TRASHD_INVENTORY_MAX_AGE", err)
	}
	a.Reports = inventories.Reports{Store: w.store, Trash: w.Trash}
	_, err = a.Run(t.Context(), func(reconcile.Record, reconcile.AuditResult, string) {})
	if err == nil || !strings.Contains(err.Error(), "TRASHD_INVENTORY_BUCKET") {
		t.Errorf("no inventory: %v, want a refusal naming TRASHD_INVENTORY_BUCKET", err)
	}
	if got := w.ops.of("HeadObject"); got != 0 {
		t.Errorf("%d HEADs from refused audits, want none", got)
	}
}

// The audit of the LMS against the buckets' reports: an object no LMS row
// names is a stray (counted, its bytes, listed among the oldest); a row whose
// object is in neither bucket is reported after a HEAD confirms it; a moved
// file is found in the trash bucket's report without a request; a file
// uploaded after the report is found by HEAD, not reported.
func TestAuditLMSBothWays(t *testing.T) {
	t.Parallel()
	w := newInvWorld(t)
	live := w.AddFile(t, "course/live.pdf", testworld.Body("live", 1000), false, 0)
	moved := w.AddFile(t, "course/moved.pdf", testworld.Body("moved", 1100), true, 0)
	run(t, w.Runner(t, w.Config("owner-lms")))
	noObject := w.AddRow(t, "course/never uploaded.pdf", false)
	created := w.dbNow(t)
	stray := testworld.Body("stray upload", 4096)
	s3test.PutObject(t, w.SDK, w.Source, "tmp/abandoned upload.bin", stray)
	late := w.AddFile(t, "course/uploaded after the report.pdf", testworld.Body("late", 900), false, 0)

	head := func(bucket, key string) inventory.Row {
		out, err := w.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		testworld.Must(t, err)
		return inventory.Row{Key: key, IsLatest: true, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`),
			StorageClass: "STANDARD", LastModified: aws.ToTime(out.LastModified)}
	}
	strayRow := head(w.Source, "tmp/abandoned upload.bin")
	strayRow.LastModified = created.Add(-30 * 24 * time.Hour)
	w.writeSourceReport(t, created, []inventory.Row{head(w.Source, "course/live.pdf"), strayRow})
	w.writeReport(t, created, inventory.FormatCSV, inventory.DefaultSchema(false), []inventory.Row{head(w.Trash, trashKey(t, w.Env, moved))})

	// With a partition of one, the audit joins through temporary files.
	for _, part := range []int{0, 1} {
		t.Run(fmt.Sprintf("partition %d", part), func(t *testing.T) {
			w.ops.reset()
			without := map[int64]string{}
			sum, err := reconcile.LMSAudit{
				Rows: w.Store, Reports: w.reports(), Objects: w.S3, TrashBucket: w.Trash, Prices: reconcile.DefaultPrices,
				Buckets: []string{w.Source}, Oldest: 5, Concurrency: 4, MaxAge: 48 * time.Hour, PartitionSize: part,
				Now: func() time.Time { return created.Add(time.Minute) },
			}.Run(t.Context(), func(row reconcile.LMSObject, detail string) { without[row.LMSID] = detail })
			if err != nil {
				t.Fatalf("LMS audit: %v", err)
			}
			if sum.Rows != 4 || sum.WithoutObject != 1 || sum.Unchecked != 0 {
				t.Errorf("summary %+v: want 4 rows read, 1 without an object, none unchecked", sum)
			}
			if d, ok := without[noObject]; !ok || !strings.Contains(d, "does not exist") || !strings.Contains(d, "no record") {
				t.Errorf("the row without an object: %q (reported %v), want it reported", d, ok)
			}
			for _, id := range []int64{live, moved, late} {
				if d, ok := without[id]; ok {
					t.Errorf("LMS row %d reported without an object: %s", id, d)
				}
			}
			if len(sum.Buckets) != 1 {
				t.Fatalf("buckets %+v, want the source bucket", sum.Buckets)
			}
			b := sum.Buckets[0]
			if b.Bucket != w.Source || b.Objects != 2 || b.Strays != 1 || b.StrayBytes != int64(len(stray)) || b.StrayCost <= 0 {
				t.Errorf("bucket %+v: want 2 objects, 1 stray of %d bytes with a cost", b, len(stray))
			}
			if len(b.Oldest) != 1 || b.Oldest[0].Key != "tmp/abandoned upload.bin" {
				t.Errorf("oldest strays %+v, want the abandoned upload", b.Oldest)
			}
			// The row without an object and the late upload: one HEAD each; the
			// moved file was found in the trash bucket's report.
			if got := w.ops.of("HeadObject"); got != 2 || sum.Headed != 2 {
				t.Errorf("%d HEADs (%d counted), want 2", got, sum.Headed)
			}
			// It only reports: the stray is still there.
			wantObject(t, w.Env, w.Source, "tmp/abandoned upload.bin", stray, "the stray object")
		})
	}

}
