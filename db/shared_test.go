package db_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// liveRow asks LiveRows about the one object bucket/key.
func liveRow(t *testing.T, store *db.Store, bucket, key string) (int64, bool, error) {
	t.Helper()
	ref := reconcile.ObjectRef{Bucket: bucket, Key: key}
	got, err := store.LiveRows(t.Context(), []reconcile.ObjectRef{ref})
	id, found := got[ref]
	return id, found, err
}

// wantLive checks LiveRows for bucket/key against the wanted id; 0: none.
func wantLive(t *testing.T, store *db.Store, bucket, key string, want int64) {
	t.Helper()
	id, found, err := liveRow(t, store, bucket, key)
	switch {
	case err != nil:
		t.Errorf("LiveRows(%q, %q) = %v", bucket, key, err)
	case want == 0 && found:
		t.Errorf("LiveRows(%q, %q) = row %d, want none", bucket, key, id)
	case want != 0 && (!found || id != want):
		t.Errorf("LiveRows(%q, %q) = %d, %v; want row %d", bucket, key, id, found, want)
	}
}

func TestLiveRow(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			gone := dbtest.InsertFile(t, sqlDB, "b", "shared", true)
			kept := dbtest.InsertFile(t, sqlDB, "b", "shared", false)
			wantLive(t, store, "b", "shared", kept)

			dbtest.SetTrashed(t, sqlDB, kept, true)
			wantLive(t, store, "b", "shared", 0)

			// Restored from the trash by the LMS: live again.
			dbtest.SetTrashed(t, sqlDB, gone, false)
			wantLive(t, store, "b", "shared", gone)

			wantLive(t, store, "b", "other", 0)
			wantLive(t, store, "c", "shared", 0)
		})
	}
}

func TestLiveRowSmallestID(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	dbtest.InsertFile(t, sqlDB, "b", "k", true)
	first := dbtest.InsertFile(t, sqlDB, "b", "k", false)
	dbtest.InsertFile(t, sqlDB, "b", "k", false)
	wantLive(t, store, "b", "k", first)
}

// Flag columns of every accepted type, NULL included: the negation of the
// scan's condition, so that a row is either found by ScanTrashed or by
// LiveRow, never by both or neither.
func TestLiveRowFlagValues(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	exec(t, sqlDB, `CREATE TABLE uploads (id INT PRIMARY KEY, object_key VARCHAR(255) NOT NULL,
		del_int INT NULL, del_bit BIT(1) NULL, del_bool BOOLEAN NULL, INDEX (object_key))`)
	exec(t, sqlDB, `INSERT INTO uploads VALUES
		(1, 'null', NULL, NULL, NULL), (2, 'zero', 0, b'0', FALSE), (3, 'one', 1, b'1', TRUE),
		(4, 'minus', -1, b'1', -1), (5, 'two', 2, b'1', 2)`)
	live := map[string]bool{"null": true, "zero": true, "one": false, "minus": false, "two": false}
	for _, column := range []string{"del_int", "del_bit", "del_bool"} {
		t.Run(column, func(t *testing.T) {
			t.Parallel()
			store := newStore(t, sqlDB, db.LMSTable{
				Table: "uploads", IDColumn: "id", KeyColumn: "object_key", TrashColumn: column,
				TrashKind: db.TrashFlag, DefaultBucket: "only",
			})
			trashed := map[string]bool{}
			for _, r := range scanAll(t, store, 100) {
				trashed[r.Key] = true
			}
			for key, wantLive := range live {
				_, found, err := liveRow(t, store, "only", key)
				if err != nil {
					t.Fatal(err)
				}
				if found != wantLive || found == trashed[key] {
					t.Errorf("%s: LiveRow found %v, scan found %v; want live %v", key, found, trashed[key], wantLive)
				}
			}
		})
	}
}

func TestLiveRowBucket(t *testing.T) {
	t.Parallel()
	store, sqlDB, lms := setup(t, db.TrashFlag) // DefaultBucket "default-bucket"
	null := dbtest.InsertFile(t, sqlDB, "", "k", false)
	empty := dbtest.InsertFile(t, sqlDB, "", "e", false)
	exec(t, sqlDB, "UPDATE files SET bucket = '' WHERE id = ?", empty)
	spaces := dbtest.InsertFile(t, sqlDB, "  ", "s", false)
	other := dbtest.InsertFile(t, sqlDB, "other", "k", false)
	named := dbtest.InsertFile(t, sqlDB, lms.DefaultBucket, "n", false)

	wantLive(t, store, lms.DefaultBucket, "k", null)
	wantLive(t, store, lms.DefaultBucket, "e", empty)
	wantLive(t, store, lms.DefaultBucket, "n", named)
	wantLive(t, store, "other", "k", other)
	wantLive(t, store, "other", "n", 0)
	wantLive(t, store, "third", "k", 0)
	// A bucket of spaces is not empty, so not the default bucket (as in
	// ScanTrashed), though PAD SPACE collations compare it equal to ''.
	wantLive(t, store, lms.DefaultBucket, "s", 0)
	wantLive(t, store, "  ", "s", spaces)
	wantLive(t, store, "OTHER", "k", 0)

	// Without a bucket column every row is in the default bucket, whatever
	// the bucket column this table happens to have says.
	lms.BucketColumn = ""
	noBucket := newStore(t, sqlDB, lms)
	wantLive(t, noBucket, lms.DefaultBucket, "k", null)
	wantLive(t, noBucket, lms.DefaultBucket, "n", named)
	wantLive(t, noBucket, "other", "k", 0)
}

// S3 keys are bytes; the LMS's collation may not be.
func TestLiveRowComparesBytes(t *testing.T) {
	t.Parallel()
	for _, collation := range []string{"utf8mb4_bin", "utf8mb4_general_ci", "utf8mb4_unicode_ci"} {
		t.Run(collation, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			lms := dbtest.CreateFilesWith(t, sqlDB, dbtest.FilesOptions{Kind: db.TrashFlag, KeyCollation: collation})
			store := newStore(t, sqlDB, lms)
			upper := dbtest.InsertFile(t, sqlDB, "b", "Doc.pdf", false)
			padded := dbtest.InsertFile(t, sqlDB, "b", "doc.pdf ", false)
			accent := dbtest.InsertFile(t, sqlDB, "b", "résumé.pdf", false)

			wantLive(t, store, "b", "doc.pdf", 0)
			wantLive(t, store, "b", "DOC.PDF", 0)
			wantLive(t, store, "b", "Doc.pdf", upper)
			wantLive(t, store, "b", "doc.pdf ", padded)
			wantLive(t, store, "b", "Doc.pdf ", 0)
			wantLive(t, store, "b", "resume.pdf", 0)
			wantLive(t, store, "b", "résumé.pdf", accent)
		})
	}
}

func TestLiveRowUniqueKeys(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFilesWith(t, sqlDB, dbtest.FilesOptions{Kind: db.TrashFlag, NoKeyIndex: true})
	dbtest.InsertFile(t, sqlDB, "b", "shared", false)
	lms.UniqueKeys = true
	store := newStore(t, sqlDB, lms)
	wantLive(t, store, "b", "shared", 0)
}

// The question comes before every delete: it must use the index, never read
// the whole table.
func TestLiveRowUsesIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, index string
		bucket      bool
	}{
		{"key and bucket", "INDEX by_object (s3_key(255), bucket)", true},
		{"bucket and key", "INDEX by_object (bucket, s3_key(255))", true},
		{"key only", "INDEX by_object (s3_key(255))", true},
		{"no bucket column", "INDEX by_object (s3_key(255))", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			lms := dbtest.CreateFilesWith(t, sqlDB, dbtest.FilesOptions{Kind: db.TrashFlag, NoKeyIndex: true, Indexes: []string{tt.index}})
			lms.DefaultBucket = "default-bucket"
			if !tt.bucket {
				lms.BucketColumn = ""
			}
			store := newStore(t, sqlDB, lms)
			// Enough rows that a whole-table read costs more than the index.
			for i := range 200 {
				bucket := []string{"", "default-bucket", "other"}[i%3]
				dbtest.InsertFile(t, sqlDB, bucket, fmt.Sprintf("k/%03d", i), i%2 == 0)
			}
			exec(t, sqlDB, "ANALYZE TABLE files")
			buckets := []string{"default-bucket"}
			if tt.bucket {
				buckets = append(buckets, "other")
			}
			for _, bucket := range buckets {
				query, args := store.LiveRowsQuery(bucket, "k/007", "k/011")
				// type index would be a read of the whole index.
				plan := explain(t, sqlDB, query, args...)
				if plan["key"] != "by_object" || plan["type"] != "ref" && plan["type"] != "range" {
					t.Errorf("bucket %s: EXPLAIN %s: key %q, type %q; want by_object, ref or range", bucket, query, plan["key"], plan["type"])
				}
			}
		})
	}
}

// explain is the first row of EXPLAIN query, by lower-case column name.
func explain(t *testing.T, sqlDB *sql.DB, query string, args ...any) map[string]string {
	t.Helper()
	rows, err := sqlDB.QueryContext(t.Context(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("EXPLAIN %s: no rows", query)
	}
	values := make([]sql.NullString, len(columns))
	ptrs := make([]any, len(values))
	for i := range values {
		ptrs[i] = &values[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	plan := map[string]string{}
	for i, c := range columns {
		plan[strings.ToLower(c)] = values[i].String
	}
	return plan
}
