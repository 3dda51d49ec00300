package db_test

import (
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

// The pool's statement count agrees with the server's own Questions counter
// for the session: queries, statements, and a transaction's START and COMMIT.
func TestStatementsCountedAsTheServerCounts(t *testing.T) {
	t.Parallel()
	_, opts := dbtest.NewDatabase(t)
	var n db.Statements
	opts.Statements, opts.MaxOpenConns, opts.MaxIdleConns = &n, 1, 1
	sqlDB, err := db.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	questions := func() int64 {
		var name string
		var v int64
		if err := sqlDB.QueryRow("SHOW SESSION STATUS LIKE 'Questions'").Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	q0, n0 := questions(), n.Load()
	if _, err := sqlDB.Exec("CREATE TABLE counted (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("INSERT INTO counted VALUES (?), (?)", 1, 2); err != nil {
		t.Fatal(err)
	}
	var c int
	if err := sqlDB.QueryRow("SELECT COUNT(*) FROM counted WHERE id > ?", 0).Scan(&c); err != nil || c != 2 {
		t.Fatal(c, err)
	}
	tx, err := sqlDB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("DELETE FROM counted WHERE id = ?", 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	q1, n1 := questions(), n.Load()
	// Each reading of Questions counts its own statement, as the pool
	// does: both deltas hold the second SHOW and not the first.
	if got, want := n1-n0, q1-q0; got != want {
		t.Errorf("the pool counted %d statements, the server %d", got, want)
	}
	if n1-n0 != 7 {
		t.Errorf("counted %d statements, want 7 (create, insert, select, start, delete, commit, the second SHOW)", n1-n0)
	}
}
