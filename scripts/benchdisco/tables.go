package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"trashd/db"
)

// table is the shape of an LMS table `files`: rows rows with ids first,
// first+1, …; of them every every-th is trashed, trashed in all.
type table struct {
	rows    int
	first   int64
	trashed int
}

func (t table) every() int { return t.rows / t.trashed }

// lmsTable is how trashd is told about `files`.
var lmsTable = db.LMSTable{
	Table: "files", IDColumn: "id", KeyColumn: "s3_key", BucketColumn: "bucket",
	TrashColumn: "trashed", TrashKind: db.TrashFlag, DefaultBucket: srcBucket,
}

// prepare makes database with trashd's tables migrated and emptied, and a
// `files` table of shape t: the one already there if it has that shape.
func prepare(ctx context.Context, dsn, database string, t table, say func(string, ...any)) (*sql.DB, db.Options, error) {
	opts, err := dbOptions(dsn, database)
	if err != nil {
		return nil, opts, err
	}
	admin, err := openAdmin(dsn)
	if err != nil {
		return nil, opts, err
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+database+"` CHARACTER SET utf8mb4")
	admin.Close()
	if err != nil {
		return nil, opts, fmt.Errorf("create database %s: %w", database, err)
	}
	sqlDB, err := db.Open(ctx, opts)
	if err != nil {
		return nil, opts, err
	}
	if err := db.Migrate(ctx, sqlDB); err != nil {
		sqlDB.Close()
		return nil, opts, err
	}
	// Every run discovers from scratch.
	for _, q := range []string{"DELETE FROM trash_objects", "DELETE FROM trash_runs"} {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			sqlDB.Close()
			return nil, opts, fmt.Errorf("%s: %w", q, err)
		}
	}
	if ok, err := hasShape(ctx, sqlDB, t); err != nil || ok {
		if err != nil {
			sqlDB.Close()
		}
		return sqlDB, opts, err
	}
	say("building %s.files: %d rows, %d trashed", database, t.rows, t.trashed)
	start := time.Now()
	if err := build(ctx, sqlDB, t); err != nil {
		sqlDB.Close()
		return nil, opts, fmt.Errorf("build %s.files: %w", database, err)
	}
	say("built in %.1f s", time.Since(start).Seconds())
	return sqlDB, opts, nil
}

func hasShape(ctx context.Context, sqlDB *sql.DB, t table) (bool, error) {
	var exists int
	err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'files'").Scan(&exists)
	if err != nil || exists == 0 {
		return false, err
	}
	var (
		rows, trashed int
		lo, hi        sql.NullInt64
	)
	err = sqlDB.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(trashed <> 0), 0), MIN(id), MAX(id) FROM files").Scan(&rows, &trashed, &lo, &hi)
	if err != nil {
		return false, fmt.Errorf("look at the existing files table: %w", err)
	}
	return rows == t.rows && trashed == t.trashed && lo.Int64 == t.first && hi.Int64 == t.first+int64(t.rows)-1, nil
}

// build (re)creates `files` as the sample LMS table of the tests (no index
// on the trash flag: the worst case for the scan), 100,000 rows a statement
// from a cross join of digits.
func build(ctx context.Context, sqlDB *sql.DB, t table) error {
	if _, err := sqlDB.ExecContext(ctx, "DROP TABLE IF EXISTS files"); err != nil {
		return err
	}
	_, err := sqlDB.ExecContext(ctx, `CREATE TABLE files (
		id      BIGINT        NOT NULL PRIMARY KEY,
		bucket  VARCHAR(63)   NULL,
		s3_key  VARCHAR(1024) COLLATE utf8mb4_bin NOT NULL,
		trashed TINYINT       NOT NULL DEFAULT 0,
		INDEX files_key (s3_key(255), bucket)
	) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`)
	if err != nil {
		return err
	}
	digits := "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4" +
		" UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	from := make([]string, 5)
	for i := range from {
		from[i] = digits + " AS d" + strconv.Itoa(i)
	}
	seq := "(SELECT d0.d + 10*d1.d + 100*d2.d + 1000*d3.d + 10000*d4.d AS n FROM " + strings.Join(from, ", ") + ")"
	const chunk = 100_000
	every, trashedEnd := t.every(), t.every()*t.trashed
	for base := 0; base < t.rows; base += chunk {
		// i is the row's number from 0; the key is unique per row.
		q := fmt.Sprintf(`INSERT INTO files (id, bucket, s3_key, trashed)
			SELECT %[1]d + i, NULL, CONCAT('course/', i DIV 1000, '/file-', i, '.pdf'), i %% %[2]d = %[2]d - 1 AND i < %[3]d
			FROM (SELECT %[4]d + n AS i FROM %[5]s AS seq) AS r WHERE i < %[6]d`,
			t.first, every, trashedEnd, base, seq, t.rows)
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err = sqlDB.ExecContext(ctx, "ANALYZE TABLE files")
	return err
}

func dbOptions(dsn, database string) (db.Options, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return db.Options{}, fmt.Errorf("-dsn: %w", err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return db.Options{}, fmt.Errorf("-dsn address %q: %w", cfg.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return db.Options{}, fmt.Errorf("-dsn port %q: %w", port, err)
	}
	return db.Options{Host: host, Port: p, User: cfg.User, Password: cfg.Passwd, Database: database, TLS: db.TLSOff}, nil
}

func openAdmin(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-dsn: %w", err)
	}
	cfg.DBName = ""
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

func count(ctx context.Context, sqlDB *sql.DB, query string) (int, error) {
	var n int
	err := sqlDB.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}
