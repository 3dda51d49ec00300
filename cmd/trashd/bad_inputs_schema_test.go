package main_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/s3ops/s3test"
)

// TestBadInputsSchema: LMS tables trashd cannot use as configured (a view,
// an ENUM trash flag, a BIGINT UNSIGNED id holding an id at or above 2^63,
// the id -2^63, a table named in another database) are refused by the
// commands that read the LMS table (exit 2), and said as a warning by
// migrate (exit 0: trashd's own tables are its work) and as the reason for
// exit 2 by doctor, each with the table, the column, what is wrong and what
// to do; nothing changes in MySQL or either bucket.
func TestBadInputsSchema(t *testing.T) {
	w := newBadWorld(t)
	env := w.env
	for _, stmt := range []string{
		"CREATE VIEW files_view AS SELECT * FROM files",
		`CREATE TABLE files_enum (
			id      BIGINT NOT NULL PRIMARY KEY,
			s3_key  VARCHAR(1024) COLLATE utf8mb4_bin NOT NULL,
			trashed ENUM('0','1') NOT NULL DEFAULT '0',
			INDEX files_enum_key (s3_key(255))
		) ENGINE = InnoDB`,
		"INSERT INTO files_enum VALUES (1, 'pending/0.txt', '1'), (2, 'live/0.txt', '0')",
		`CREATE TABLE files_unsigned (
			id      BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			bucket  VARCHAR(63) NULL,
			s3_key  VARCHAR(1024) COLLATE utf8mb4_bin NOT NULL,
			trashed TINYINT NOT NULL DEFAULT 0,
			INDEX files_unsigned_key (s3_key(255), bucket)
		) ENGINE = InnoDB`,
		"INSERT INTO files_unsigned (id, s3_key, trashed) VALUES (1, 'pending/0.txt', 1), (9223372036854775813, 'pending/1.txt', 1)",
		"CREATE TABLE files_lowest LIKE files",
		"INSERT INTO files_lowest (id, s3_key, trashed) VALUES (-9223372036854775808, 'pending/0.txt', 1), (5, 'pending/1.txt', 1)",
	} {
		if _, err := env.DB.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	view := []string{`TRASHD_LMS_TABLE (Table): table "files_view" is a view`, "base table", `"id" as its primary key`, `index on "s3_key"`, "SHOW CREATE VIEW `files_view`", "TRASHD_MYSQL_DATABASE"}
	enum := []string{`TRASHD_LMS_TRASH_COLUMN (TrashColumn): column "trashed" of table "files_enum" is ENUM('0','1')`, `TrashKind "flag"`, "TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=1"}
	unsigned := []string{`TRASHD_LMS_ID_COLUMN (IDColumn): column "id" of table "files_unsigned" is BIGINT`, "UNSIGNED", "9223372036854775813", "2^63", "signed 64-bit", "renumber"}
	lowest := []string{`TRASHD_LMS_ID_COLUMN (IDColumn): column "id" of table "files_lowest" is BIGINT`, "-9223372036854775808", "renumber"}
	other := []string{"TRASHD_LMS_TABLE", `"lms_prod.files" names table "files" of database "lms_prod"`, "TRASHD_MYSQL_DATABASE=lms_prod", "TRASHD_LMS_TABLE=files"}
	refused := "trashd reconcile and serve refuse to start until it is fixed"
	notIndex := []string{"CREATE INDEX", "UNIQUE key of its own"}

	cases := []struct {
		name   string
		vars   []string
		args   []string
		code   int
		wants  []string
		absent []string // never in the output: advice that does not fit
	}{
		{"view, reconcile", []string{"TRASHD_LMS_TABLE=files_view"}, []string{"reconcile"}, 2, view, notIndex},
		{"view, dry run", []string{"TRASHD_LMS_TABLE=files_view"}, []string{"reconcile", "--dry-run"}, 2, view, notIndex},
		{"view, status", []string{"TRASHD_LMS_TABLE=files_view"}, []string{"status"}, 2, view, notIndex},
		{"view, migrate", []string{"TRASHD_LMS_TABLE=files_view"}, []string{"migrate"}, 0, append([]string{"warning", refused}, view...), notIndex},
		{"view, doctor", []string{"TRASHD_LMS_TABLE=files_view"}, []string{"doctor"}, 2, append([]string{refused, "s3://" + env.Trash}, view...), notIndex},

		{"enum flag, reconcile", []string{"TRASHD_LMS_TABLE=files_enum"}, []string{"reconcile"}, 2, enum, nil},
		{"enum flag, dry run", []string{"TRASHD_LMS_TABLE=files_enum"}, []string{"reconcile", "--dry-run"}, 2, enum, nil},
		{"enum flag, migrate", []string{"TRASHD_LMS_TABLE=files_enum"}, []string{"migrate"}, 0, append([]string{"warning", refused}, enum...), nil},
		{"enum flag, doctor", []string{"TRASHD_LMS_TABLE=files_enum"}, []string{"doctor"}, 2, append([]string{refused}, enum...), nil},
		{"enum flag, doctor --json", []string{"TRASHD_LMS_TABLE=files_enum"}, []string{"doctor", "--json"}, 2, []string{`"lms_table"`, `"problem"`, "TRASHD_LMS_TRASH_VALUES=1"}, nil},

		{"unsigned id at 2^63, reconcile", []string{"TRASHD_LMS_TABLE=files_unsigned"}, []string{"reconcile"}, 2, unsigned, []string{"converting driver.Value"}},
		{"unsigned id at 2^63, dry run", []string{"TRASHD_LMS_TABLE=files_unsigned"}, []string{"reconcile", "--dry-run"}, 2, unsigned, []string{"converting driver.Value"}},
		{"unsigned id at 2^63, status", []string{"TRASHD_LMS_TABLE=files_unsigned"}, []string{"status"}, 2, unsigned, nil},
		{"unsigned id at 2^63, migrate", []string{"TRASHD_LMS_TABLE=files_unsigned"}, []string{"migrate"}, 0, append([]string{"warning", refused}, unsigned...), nil},
		{"unsigned id at 2^63, doctor", []string{"TRASHD_LMS_TABLE=files_unsigned"}, []string{"doctor"}, 2, append([]string{refused}, unsigned...), nil},

		{"id -2^63, reconcile", []string{"TRASHD_LMS_TABLE=files_lowest"}, []string{"reconcile"}, 2, lowest, nil},
		{"id -2^63, migrate", []string{"TRASHD_LMS_TABLE=files_lowest"}, []string{"migrate"}, 0, append([]string{"warning", refused}, lowest...), nil},

		{"table in another database, reconcile", []string{"TRASHD_LMS_TABLE=lms_prod.files"}, []string{"reconcile"}, 2, other, []string{"not a plain identifier"}},
		{"table in another database, migrate", []string{"TRASHD_LMS_TABLE=lms_prod.files"}, []string{"migrate"}, 2, other, []string{"not a plain identifier"}},
		{"table in another database, doctor", []string{"TRASHD_LMS_TABLE=lms_prod.files"}, []string{"doctor"}, 2, other, []string{"not a plain identifier"}},

		{"negative id taken for a flag", nil, []string{"retry", "-5"}, 2, []string{"-5", "trashd retry -- -5"}, nil},
		{"negative id after --, restore", nil, []string{"restore", "--", "-5"}, 1, []string{"-5"}, []string{"not an LMS row id"}},
	}

	before := takeFingerprint(t, env)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := trashdQuick(t, time.Minute, with(w.vars, tc.vars...), tc.args...)
			out := r.stderr + r.stdout
			if r.code != tc.code {
				t.Errorf("trashd %s with %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), tc.vars, r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("trashd %s with %q: output does not mention %q:\n%s", strings.Join(tc.args, " "), tc.vars, want, out)
				}
			}
			for _, bad := range tc.absent {
				if strings.Contains(out, bad) {
					t.Errorf("trashd %s with %q: output says %q:\n%s", strings.Join(tc.args, " "), tc.vars, bad, out)
				}
			}
			after := takeFingerprint(t, env)
			if d := before.diff(after); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
			before = after
		})
	}
	env.CheckInvariant(t)
}

// TestLMSIDsZeroAndNegative: rows with id 0 and negative ids are moved like
// any other: the object leaves the source, its bytes are at the trash key
// that renders the id ("-5/…"), and the record names the row; a live row
// with a negative id keeps its object. An UNSIGNED id column whose ids are
// below 2^63 works too, up to 2^63-1 itself.
func TestLMSIDsZeroAndNegative(t *testing.T) {
	t.Parallel()
	t.Run("signed", func(t *testing.T) {
		t.Parallel()
		env := testworld.New(t)
		vars := with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off")
		positive := env.AddFile(t, "positive.txt", []byte("positive"), true, 0)
		rows := []lmsRow{
			{id: -9223372036854775807, key: "lowest.txt", trashed: true},
			{id: -5, key: "negative/five.txt", trashed: true},
			{id: -6, key: "negative/live.txt", trashed: false},
			{id: 0, key: "zero.txt", trashed: true},
		}
		for _, r := range rows {
			putRow(t, env, "files", r)
		}
		if r := trashd(t, vars, "migrate"); r.code != 0 {
			t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
		}
		r := trashdQuick(t, 2*time.Minute, vars, "reconcile")
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "moved 4") {
			t.Fatalf("reconcile: exit %d, want 0 with 4 moved\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, r := range rows {
			checkRowMoved(t, env, r)
		}
		checkRowMoved(t, env, lmsRow{id: positive, key: "positive.txt", trashed: true, body: []byte("positive")})
		env.CheckInvariant(t)
	})
	t.Run("unsigned", func(t *testing.T) {
		t.Parallel()
		env := testworld.New(t)
		if _, err := env.DB.ExecContext(t.Context(), `CREATE TABLE files_u (
			id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
			s3_key  VARCHAR(1024) COLLATE utf8mb4_bin NOT NULL,
			trashed TINYINT NOT NULL DEFAULT 0,
			INDEX files_u_key (s3_key(255))
		) ENGINE = InnoDB`); err != nil {
			t.Fatal(err)
		}
		vars := with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off", "TRASHD_LMS_TABLE=files_u")
		rows := []lmsRow{
			{id: 1, key: "one.txt", trashed: true},
			{id: 9223372036854775806, key: "live.txt", trashed: false},
			{id: 9223372036854775807, key: "largest.txt", trashed: true},
		}
		for _, r := range rows {
			putRow(t, env, "files_u", r)
		}
		if r := trashd(t, vars, "migrate"); r.code != 0 {
			t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
		}
		r := trashdQuick(t, 2*time.Minute, vars, "reconcile")
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "moved 2") {
			t.Fatalf("reconcile: exit %d, want 0 with 2 moved\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, r := range rows {
			checkRowMoved(t, env, r)
		}
	})
}

// lmsRow is an LMS row a test inserts with an id of its choosing.
type lmsRow struct {
	id      int64
	key     string
	trashed bool
	body    []byte // default: "body of " + key
}

func (r lmsRow) bytes() []byte {
	if r.body != nil {
		return r.body
	}
	return []byte("body of " + r.key)
}

// putRow uploads r's object to the source bucket and inserts r into table
// with r's id: 0 by an UPDATE, since an AUTO_INCREMENT column takes an
// inserted 0 for "the next id".
func putRow(t *testing.T, env *testworld.Env, table string, r lmsRow) {
	t.Helper()
	s3test.PutObject(t, env.SDK, env.Source, r.key, r.bytes())
	flag := 0
	if r.trashed {
		flag = 1
	}
	id := r.id
	if id == 0 {
		id = 424242
	}
	if _, err := env.DB.ExecContext(t.Context(), "INSERT INTO `"+table+"` (id, s3_key, trashed) VALUES (?, ?, ?)", id, r.key, flag); err != nil {
		t.Fatalf("insert row %d: %v", r.id, err)
	}
	if id != r.id {
		if _, err := env.DB.ExecContext(t.Context(), "UPDATE `"+table+"` SET id = 0 WHERE id = ?", id); err != nil {
			t.Fatalf("renumber row %d to 0: %v", id, err)
		}
	}
}

// checkRowMoved checks that a trashed row's object moved (gone from the source,
// its bytes at the trash key "{id}/{key}", a record in_trash naming both),
// and that a live row's object stayed, without a record.
func checkRowMoved(t *testing.T, env *testworld.Env, r lmsRow) {
	t.Helper()
	var state, sourceKey, trashKey string
	err := env.DB.QueryRowContext(t.Context(), "SELECT state, source_key, COALESCE(trash_key, '') FROM trash_objects WHERE lms_id = ?", r.id).
		Scan(&state, &sourceKey, &trashKey)
	if !r.trashed {
		if err == nil {
			t.Errorf("live row %d has a record (%s)", r.id, state)
		}
		if got := s3test.Get(t, env.SDK, env.Source, r.key); !bytes.Equal(got, r.bytes()) {
			t.Errorf("live row %d: s3://%s/%s holds %q, want %q", r.id, env.Source, r.key, got, r.bytes())
		}
		return
	}
	if err != nil {
		t.Errorf("row %d: no record: %v", r.id, err)
		return
	}
	wantKey := fmt.Sprintf("%d/%s", r.id, r.key)
	if state != "in_trash" || sourceKey != r.key || trashKey != wantKey {
		t.Errorf("row %d: record %s, source %q, trash key %q; want in_trash, %q, %q", r.id, state, sourceKey, trashKey, r.key, wantKey)
	}
	if got := s3test.Get(t, env.SDK, env.Trash, wantKey); !bytes.Equal(got, r.bytes()) {
		t.Errorf("row %d: s3://%s/%s holds %q, want %q", r.id, env.Trash, wantKey, got, r.bytes())
	}
	_, err = env.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(env.Source), Key: aws.String(r.key)})
	if err == nil {
		t.Errorf("row %d: s3://%s/%s is still there", r.id, env.Source, r.key)
	}
}

// TestMigrateWithoutLMSGrant: the migrating user of docs/operations.md has
// no grant on the LMS table, and so sees none; migrate then says nothing
// about it (the check is for users that can see it), also when the table is
// a view, which the service user, who can see it, is refused.
func TestMigrateWithoutLMSGrant(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	if _, err := env.DB.ExecContext(t.Context(), "CREATE VIEW files_view AS SELECT * FROM files"); err != nil {
		t.Fatal(err)
	}
	migrating, service := documentedGrants(t)
	migrator := createDocumentedUser(t, env, migrating)
	r := trashdQuick(t, time.Minute, with(env.Vars(), migrator...), "migrate")
	if r.code != 0 || strings.Contains(r.stderr, "LMS table") {
		t.Errorf("migrate as the migrating user: exit %d, want 0 and nothing about the LMS table\n%s", r.code, r.stderr)
	}
	svc := createDocumentedUser(t, env, append(service, "GRANT SELECT ON lms.files_view TO 'trashd'@'%'"))
	r = trashdQuick(t, time.Minute, with(env.Vars(), append(svc, "TRASHD_LMS_TABLE=files_view")...), "status")
	if r.code != 2 || !strings.Contains(r.stderr, `table "files_view" is a view`) {
		t.Errorf("status as the service user over a view: exit %d, want 2 and the view named\n%s", r.code, r.stderr)
	}
	r = trashdQuick(t, time.Minute, with(env.Vars(), append(migrator, "TRASHD_LMS_TABLE=files_view")...), "migrate")
	if r.code != 0 || strings.Contains(r.stderr, "LMS table") {
		t.Errorf("migrate as the migrating user over a view it cannot see: exit %d, want 0 and nothing about the LMS table\n%s", r.code, r.stderr)
	}
}
