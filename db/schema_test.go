package db_test

import (
	"database/sql"
	"regexp"
	"slices"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

func TestNewStoreIDMustNameOneRow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, table string
		want        []string // substrings of the error; none: accepted
	}{
		{"primary key", "id BIGINT PRIMARY KEY", nil},
		{"unique key", "row_id INT PRIMARY KEY, id BIGINT NOT NULL, UNIQUE KEY by_id (id)", nil},
		{"composite primary key", "course_id INT, id BIGINT, PRIMARY KEY (course_id, id)",
			[]string{"IDColumn", `column "ID" of table "t"`, "neither its primary key nor a unique key of its own", "PRIMARY (course_id, id)"}},
		{"composite unique key", "row_id INT PRIMARY KEY, id BIGINT NOT NULL, UNIQUE KEY by_id (id, row_id)",
			[]string{"IDColumn", "PRIMARY (row_id), by_id (id, row_id)"}},
		{"plain index", "id BIGINT NOT NULL, INDEX (id)", []string{"IDColumn", "it has no primary or unique key"}},
		{"no key", "id BIGINT NOT NULL", []string{"IDColumn", "it has no primary or unique key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			exec(t, sqlDB, "CREATE TABLE t ("+tt.table+", k VARCHAR(255) NOT NULL, trashed TINYINT NOT NULL, INDEX (k))")
			_, err := db.NewStore(t.Context(), sqlDB, db.LMSTable{
				Table: "t", IDColumn: "ID", KeyColumn: "k", TrashColumn: "trashed", TrashKind: db.TrashFlag, DefaultBucket: "b",
			})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewStore = %v, want it accepted", err)
				}
				return
			}
			wantError(t, err, tt.want...)
		})
	}
}

func TestNewStoreTrashIsNotID(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	lms.TrashColumn = "ID" // an integer, so the type check alone would pass
	_, err := db.NewStore(t.Context(), sqlDB, lms)
	wantError(t, err, `TrashColumn "ID" is also the IDColumn`)
	if fe := db.FieldErrors(err); len(fe) != 1 || fe[0].Field != "TrashColumn" {
		t.Errorf("FieldErrors = %v, want one for TrashColumn", fe)
	}
}

func TestNewStoreTrashColumnTypes(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	exec(t, sqlDB, `CREATE TABLE t (id BIGINT PRIMARY KEY, k VARCHAR(255) NOT NULL,
		c_tinyint TINYINT NULL, c_bool BOOLEAN NULL, c_bit BIT(1) NULL, c_int INT UNSIGNED NULL, c_bigint BIGINT NULL,
		c_datetime DATETIME(6) NULL, c_timestamp TIMESTAMP NULL DEFAULT NULL, c_timestamp_not_null TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
		c_date DATE NULL, c_varchar VARCHAR(10) NULL, c_decimal DECIMAL(3,0) NULL, INDEX (k))`)
	tests := []struct {
		column, kind string
		want         []string // substrings of the error; none: accepted
	}{
		{"c_tinyint", db.TrashFlag, nil},
		{"c_bool", db.TrashFlag, nil},
		{"c_bit", db.TrashFlag, nil},
		{"c_int", db.TrashFlag, nil},
		{"c_bigint", db.TrashFlag, nil},
		{"c_datetime", db.TrashFlag, []string{`column "c_datetime"`, "DATETIME", "an integer type, BIT or BOOLEAN"}},
		{"c_varchar", db.TrashFlag, []string{"VARCHAR", "an integer type"}},
		{"c_decimal", db.TrashFlag, []string{"DECIMAL", "an integer type"}},
		{"c_datetime", db.TrashTimestamp, nil},
		{"c_timestamp", db.TrashTimestamp, nil},
		{"c_timestamp_not_null", db.TrashTimestamp, []string{"NOT NULL", "every row would look trashed"}},
		{"c_date", db.TrashTimestamp, []string{"DATE", "DATETIME or TIMESTAMP"}},
		{"c_tinyint", db.TrashTimestamp, []string{"TINYINT", "DATETIME or TIMESTAMP"}},
	}
	for _, tt := range tests {
		t.Run(tt.column+" "+tt.kind, func(t *testing.T) {
			t.Parallel()
			_, err := db.NewStore(t.Context(), sqlDB, db.LMSTable{
				Table: "t", IDColumn: "id", KeyColumn: "k", TrashColumn: tt.column, TrashKind: tt.kind, DefaultBucket: "b",
			})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewStore = %v, want it accepted", err)
				}
				return
			}
			wantError(t, err, append([]string{"TrashColumn"}, tt.want...)...)
		})
	}
}

func newStore(t *testing.T, sqlDB *sql.DB, lms db.LMSTable) *db.Store {
	t.Helper()
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return store
}

var createIndex = regexp.MustCompile("CREATE INDEX [^;]*\\)")

// An index on the key, or UniqueKeys, is required; the error gives the
// statement that makes one, and that statement makes NewStore accept the
// table.
func TestNewStoreKeyIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string // the type of column k
		indexes string // index definitions, each after a comma
		bucket  bool   // BucketColumn "bucket"
		want    string // the statement in the error; "": accepted
	}{
		{name: "long varchar", key: "VARCHAR(1024)", bucket: true,
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255), `bucket`)"},
		{name: "long varchar without bucket", key: "VARCHAR(1024)",
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255))"},
		{name: "short varchar", key: "VARCHAR(255)", bucket: true,
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`, `bucket`)"},
		{name: "varbinary", key: "VARBINARY(1024)", bucket: true,
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`, `bucket`)"},
		{name: "text", key: "TEXT",
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255))"},
		{name: "tinytext", key: "TINYTEXT", // 255 bytes: 63 utf8mb4 characters
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(63))"},
		{name: "blob", key: "BLOB", bucket: true,
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255), `bucket`)"},
		{name: "key not leading", key: "VARCHAR(1024)", indexes: ", INDEX (size, k(255))",
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255))"},
		{name: "bucket alone", key: "VARCHAR(1024)", indexes: ", INDEX (bucket)", bucket: true,
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255), `bucket`)"},
		{name: "bucket index without bucket column", key: "VARCHAR(1024)", indexes: ", INDEX (bucket, k(255))",
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255))"},
		{name: "fulltext", key: "TEXT", indexes: ", FULLTEXT INDEX (k)",
			want: "CREATE INDEX trashd_lms_key ON `t` (`k`(255))"},
		{name: "prefix index", key: "VARCHAR(1024)", indexes: ", INDEX (k(100))", bucket: true},
		{name: "whole key", key: "VARCHAR(700)", indexes: ", INDEX (k)"},
		{name: "key then other", key: "VARCHAR(1024)", indexes: ", INDEX (k(255), size)", bucket: true},
		{name: "bucket then key", key: "VARCHAR(1024)", indexes: ", INDEX (bucket, k(255))", bucket: true},
		{name: "unique key", key: "VARCHAR(255)", indexes: ", UNIQUE KEY (k)"},
		{name: "text prefix", key: "TEXT", indexes: ", INDEX (k(255))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			exec(t, sqlDB, "CREATE TABLE t (id BIGINT PRIMARY KEY, bucket VARCHAR(63) NULL, k "+tt.key+
				" NOT NULL, size BIGINT NOT NULL, trashed TINYINT NOT NULL"+tt.indexes+") DEFAULT CHARSET = utf8mb4")
			lms := db.LMSTable{Table: "t", IDColumn: "id", KeyColumn: "k", TrashColumn: "trashed", TrashKind: db.TrashFlag, DefaultBucket: "b"}
			if tt.bucket {
				lms.BucketColumn = "bucket"
			}
			_, err := db.NewStore(t.Context(), sqlDB, lms)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewStore = %v, want it accepted", err)
				}
				return
			}
			wantError(t, err, "KeyColumn", `table "t"`, `column "k"`, tt.want+";", "TRASHD_LMS_UNIQUE_KEYS=true")

			unique := lms
			unique.UniqueKeys = true
			if _, err := db.NewStore(t.Context(), sqlDB, unique); err != nil {
				t.Errorf("NewStore with UniqueKeys = %v", err)
			}

			exec(t, sqlDB, createIndex.FindString(err.Error()))
			if _, err := db.NewStore(t.Context(), sqlDB, lms); err != nil {
				t.Errorf("NewStore after %s = %v", tt.want, err)
			}
		})
	}
}

func TestNewStoreTrashIndexWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, indexes string
		kind          string
		want          string // the statement in the warning; "": none
	}{
		{name: "none", kind: db.TrashFlag, want: "CREATE INDEX trashd_lms_trash ON `files` (`trashed`, `id`)"},
		{name: "timestamp", kind: db.TrashTimestamp, want: "CREATE INDEX trashd_lms_trash ON `files` (`trashed_at`, `id`)"},
		{name: "trash then other", indexes: "INDEX (trashed, size)", kind: db.TrashFlag,
			want: "CREATE INDEX trashd_lms_trash ON `files` (`trashed`, `id`)"},
		{name: "id then trash", indexes: "INDEX (id, trashed)", kind: db.TrashFlag,
			want: "CREATE INDEX trashd_lms_trash ON `files` (`trashed`, `id`)"},
		{name: "trash and id", indexes: "INDEX (trashed, id)", kind: db.TrashFlag},
		{name: "trash alone", indexes: "INDEX (trashed_at)", kind: db.TrashTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			opts := dbtest.FilesOptions{Kind: tt.kind}
			if tt.indexes != "" {
				opts.Indexes = []string{tt.indexes}
			}
			lms := dbtest.CreateFilesWith(t, sqlDB, opts)
			store := newStore(t, sqlDB, lms)
			warnings := store.Warnings()
			if tt.want == "" {
				if len(warnings) > 0 {
					t.Fatalf("Warnings() = %q, want none", warnings)
				}
				return
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.want) || !strings.Contains(warnings[0], "reads the whole table") {
				t.Fatalf("Warnings() = %q, want one with %q", warnings, tt.want)
			}
			t.Logf("warning (as expected): %s", warnings[0])

			exec(t, sqlDB, createIndex.FindString(warnings[0]))
			if w := newStore(t, sqlDB, lms).Warnings(); len(w) > 0 {
				t.Errorf("Warnings() after %s = %q, want none", tt.want, w)
			}
		})
	}
}

// Warnings returns a copy: a caller cannot change the Store's.
func TestWarningsCopy(t *testing.T) {
	t.Parallel()
	store, _, _ := setup(t, db.TrashFlag)
	w := store.Warnings()
	if len(w) == 0 {
		t.Fatal("no warning for the sample table without a trash index")
	}
	w[0] = "changed"
	if slices.Contains(store.Warnings(), "changed") {
		t.Error("Warnings() shares its slice")
	}
}
