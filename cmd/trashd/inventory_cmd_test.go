package main_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/inventory"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// trashd lifecycle puts the trash bucket's inventory configuration, the
// emulation delivers a report, status shows its age, audit --inventory
// checks the records against it (and finds a copy that is gone), and audit
// --lms finds a stray upload and a row without an object, and deletes
// nothing.
func TestInventoryCommands(t *testing.T) {
	t.Parallel()
	srv := glacier.Start(t, glacier.Config{Target: s3test.Endpoint(), DayLength: time.Hour, Clock: glacier.NewClock()})
	env := testworld.New(t, func(o *s3ops.Options) { o.Endpoint = srv.URL })
	dest := s3test.NewBucket(t, env.SDK, "inv")
	moved := []int64{
		env.AddFile(t, "course/a.pdf", testworld.Body("a", 2000), true, 0),
		env.AddFile(t, "course/b c+d.pdf", testworld.Body("b", 2100), true, 0),
	}
	env.AddFile(t, "course/live.pdf", testworld.Body("live", 2200), false, 0)
	vars := with(env.Vars(), "TRASHD_S3_ENDPOINT="+srv.URL, "TRASHD_LIFECYCLE_MODE=off",
		"TRASHD_INVENTORY_BUCKET="+dest, "TRASHD_INVENTORY_PREFIX=trashd",
		"TRASHD_SOURCE_INVENTORY_BUCKET="+dest, "TRASHD_SOURCE_INVENTORY_PREFIX=sources", "TRASHD_SOURCE_INVENTORY_ID=lms")
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}

	before := trashd(t, vars, "lifecycle")
	if before.code != 3 || !strings.Contains(before.stdout, `no inventory configuration with id "trashd-inventory"`) {
		t.Errorf("lifecycle before --apply: exit %d\n%s%s", before.code, before.stdout, before.stderr)
	}
	apply := trashd(t, vars, "lifecycle", "--apply")
	if !strings.Contains(apply.stdout, "inventory drift: none") || !strings.Contains(apply.stdout, "s3.amazonaws.com") {
		t.Errorf("lifecycle --apply: exit %d\n%s%s", apply.code, apply.stdout, apply.stderr)
	}
	after := trashd(t, vars, "lifecycle", "--json")
	var lc struct {
		Inventory struct {
			InPlace     bool   `json:"in_place"`
			Destination string `json:"destination"`
		} `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(after.stdout), &lc); err != nil || !lc.Inventory.InPlace || lc.Inventory.Destination != "s3://"+dest+"/trashd" {
		t.Errorf("lifecycle --json after --apply: %+v (%v)\n%s", lc, err, after.stdout)
	}

	if r := trashd(t, vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A day on S3's clock: the emulation delivers the trash bucket's report.
	testworld.Must(t, srv.Advance(t.Context(), 25*time.Hour))
	st := trashd(t, vars, "status")
	if !strings.Contains(st.stdout, "inventory of "+env.Trash+": newest report taken") || !strings.Contains(st.stdout, "passes confirm transitions from it") {
		t.Errorf("status does not show the report:\n%s%s", st.stdout, st.stderr)
	}

	audit := trashd(t, vars, "audit", "--inventory", "--json")
	var doc struct {
		Checked, Problems int
		Inventory         struct {
			FromReports int `json:"from_reports"`
			Headed      int `json:"headed"`
		} `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(audit.stdout), &doc); err != nil || audit.code != 0 || doc.Checked != 2 || doc.Problems != 0 || doc.Inventory.FromReports != 2 || doc.Inventory.Headed != 0 {
		t.Errorf("audit --inventory of a healthy trash: exit %d, %+v (%v)\n%s%s", audit.code, doc, err, audit.stdout, audit.stderr)
	}

	// A copy gone since the report: the report still lists it, so the audit
	// of that report passes it; a new report does not, and the HEAD agrees.
	var gone string
	testworld.Must(t, env.DB.QueryRow("SELECT trash_key FROM trash_objects WHERE lms_id = ?", moved[1]).Scan(&gone))
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(gone)})
	testworld.Must(t, err)
	testworld.Must(t, srv.Advance(t.Context(), 25*time.Hour))
	audit = trashd(t, vars, "audit", "--inventory")
	if audit.code != 3 || !strings.Contains(audit.stdout, "is gone") || !strings.Contains(audit.stdout, "recorded removed") ||
		!strings.Contains(audit.stdout, "1 looked at with HEAD") {
		t.Errorf("audit --inventory with a copy gone: exit %d\n%s%s", audit.code, audit.stdout, audit.stderr)
	}

	// The source bucket's report: the live file, and an upload no row names.
	stray := testworld.Body("stray", 3000)
	s3test.PutObject(t, env.SDK, env.Source, "tmp/upload 1.bin", stray)
	noObject := env.AddRow(t, "course/never uploaded.pdf", false)
	row := func(key string) inventory.Row {
		out, err := env.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(env.Source), Key: aws.String(key)})
		testworld.Must(t, err)
		return inventory.Row{Bucket: env.Source, Key: key, IsLatest: true, Size: aws.ToInt64(out.ContentLength),
			ETag: strings.Trim(aws.ToString(out.ETag), `"`), StorageClass: "STANDARD", LastModified: aws.ToTime(out.LastModified)}
	}
	rows := []inventory.Row{row("course/live.pdf"), row("tmp/upload 1.bin")}
	_, err = inventory.Write(t.Context(), env.S3.InventoryStore(), inventory.Location{Bucket: dest, Prefix: "sources", SourceBucket: env.Source, ConfigID: "lms"},
		time.Now(), inventory.FormatCSV, inventory.DefaultSchema(false), func(yield func(inventory.Row) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		})
	testworld.Must(t, err)
	lms := trashd(t, vars, "audit", "--lms", "--json")
	var two struct {
		Rows    int `json:"rows"`
		Buckets []struct {
			Bucket      string `json:"bucket"`
			Strays      int    `json:"strays"`
			StrayBytes  int64  `json:"stray_bytes"`
			OldestStray []struct {
				Key string `json:"key"`
			} `json:"oldest_strays"`
		} `json:"buckets"`
		WithoutObject []struct {
			LMSID int64 `json:"lms_id"`
		} `json:"without_object"`
		Recorded int `json:"recorded_gone"`
	}
	if err := json.Unmarshal([]byte(lms.stdout), &two); err != nil {
		t.Fatalf("audit --lms --json: %v\n%s%s", err, lms.stdout, lms.stderr)
	}
	if lms.code != 3 || two.Rows != 4 || len(two.Buckets) != 1 || two.Buckets[0].Strays != 1 || two.Buckets[0].StrayBytes != int64(len(stray)) ||
		len(two.Buckets[0].OldestStray) != 1 || two.Buckets[0].OldestStray[0].Key != "tmp/upload 1.bin" {
		t.Errorf("audit --lms --json: exit %d, %+v\n%s", lms.code, two, lms.stderr)
	}
	// The row without an object; the moved file whose copy is gone is
	// recorded removed by the audit above, and counted, not listed again.
	var ids []int64
	for _, w := range two.WithoutObject {
		ids = append(ids, w.LMSID)
	}
	if len(ids) != 1 || !containsID(ids, noObject) || two.Recorded != 1 {
		t.Errorf("rows without an object %v (%d recorded gone), want %d alone and 1 recorded", ids, two.Recorded, noObject)
	}
	text := trashd(t, vars, "audit", "--lms")
	if text.code != 3 || !strings.Contains(text.stdout, "1 named by no LMS row") || !strings.Contains(text.stderr, "deleted nothing") {
		t.Errorf("audit --lms: exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}
	// It only reports: the stray is still there.
	if _, err := env.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(env.Source), Key: aws.String("tmp/upload 1.bin")}); err != nil {
		t.Errorf("the stray upload is gone after the audit: %v", err)
	}
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
