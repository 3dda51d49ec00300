package main

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// insertBatch is how many rows one INSERT carries.
const insertBatch = 500

// identifier is the rule trashd applies to its LMS identifiers.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// trashedAt is the trash time given to rows of a timestamp-kind table: fixed,
// so that two runs write the same rows.
var trashedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// openDatabase connects with dsn, creates database if absent and returns a
// pool that uses it.
func openDatabase(ctx context.Context, dsn, database string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("MySQL DSN: %w", err)
	}
	cfg.DBName = ""
	server, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer server.Close()
	_, err = server.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+database+"` CHARACTER SET utf8mb4")
	if err != nil {
		return nil, fmt.Errorf("create database %s on %s: %w", database, cfg.Addr, err)
	}
	cfg.DBName = database
	return sql.Open("mysql", cfg.FormatDSN())
}

// prepareTable creates the sample LMS table (dropping it first when reset)
// and refuses one that already has rows, whose ids would clash.
func prepareTable(ctx context.Context, db *sql.DB, table, trashKind string, reset bool) error {
	if reset {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+table+"`"); err != nil {
			return fmt.Errorf("drop table %s: %w", table, err)
		}
	}
	trash, trashColumn := "trashed TINYINT NOT NULL DEFAULT 0", "trashed"
	if trashKind == "timestamp" {
		trash, trashColumn = "trashed_at DATETIME(6) NULL", "trashed_at"
	}
	// With the indexes trashd asks for: one to find the rows that still name
	// an object (a prefix: 1024 utf8mb4 characters exceed InnoDB's 3072-byte
	// keys), one for the scan for trashed rows.
	_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+table+"` ("+`
		id         BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
		bucket     VARCHAR(63)   NULL,
		s3_key     VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
		size       BIGINT        NOT NULL DEFAULT 0,
		`+trash+`,
		created_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
		INDEX trashd_lms_key (s3_key(255), bucket),
		INDEX trashd_lms_trash (`+trashColumn+`, id)
	) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4`)
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	var rows int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+table+"`").Scan(&rows); err != nil {
		return fmt.Errorf("count rows of %s: %w", table, err)
	}
	if rows > 0 {
		return fmt.Errorf("table %s already has %d rows: pass -reset to drop it first", table, rows)
	}
	return nil
}

// insertRows writes one row per planned object, with ids 1…n in plan order,
// insertBatch rows per INSERT.
func insertRows(ctx context.Context, db *sql.DB, table, bucket, trashKind string, objs []object) error {
	trashColumn := "trashed"
	if trashKind == "timestamp" {
		trashColumn = "trashed_at"
	}
	for start := 0; start < len(objs); start += insertBatch {
		batch := objs[start:min(start+insertBatch, len(objs))]
		args := make([]any, 0, 5*len(batch))
		for _, o := range batch {
			var trash any = 0
			switch {
			case trashKind == "timestamp" && o.trashed:
				trash = trashedAt
			case trashKind == "timestamp":
				trash = nil
			case o.trashed:
				trash = 1
			}
			args = append(args, o.index+1, bucket, o.key, o.size, trash)
		}
		query := "INSERT INTO `" + table + "` (id, bucket, s3_key, size, " + trashColumn + ") VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(batch)), ", ")
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("insert rows %d to %d into %s: %w", start+1, start+len(batch), table, err)
		}
	}
	return nil
}
