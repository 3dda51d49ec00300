package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records which migrations ran. Not goose's default name,
// goose_db_version: the LMS may use goose for its own schema in the same
// database.
const versionTable = "trash_schema_version"

// migrateLockWait bounds how long Migrate waits for another instance that is
// migrating the same database.
const migrateLockWait = 120 // seconds, for GET_LOCK

func newProvider(sqlDB *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectMySQL, sqlDB, fsys,
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
		goose.WithSessionLocker(migrateLock{}),
		goose.WithGoMigrations(goMigrations()...),
	)
}

// Migrate brings trashd's tables to the latest version. Running it again, or
// on several hosts at once, is harmless: a named lock lets one migrate while
// the others wait and then find nothing to do.
//
// Tables already newer than this binary are refused (ErrSchemaNewer): goose
// would find nothing to do and say nothing.
func Migrate(ctx context.Context, sqlDB *sql.DB) error {
	p, err := newProvider(sqlDB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, latest, err := MigrationStatus(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latest {
		return fmt.Errorf("migrate: %w", schemaNewerError(current, latest))
	}
	if err := ensureVersionTable(ctx, sqlDB); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// ensureVersionTable creates the version table, with goose's zero version,
// under a lock of its own, before goose looks at it. goose creates the table
// and inserts the zero version in one transaction, but CREATE TABLE commits
// at once on MySQL and MariaDB, and with two trashd migrating a fresh
// database the zero version could be missing when goose read the table
// back ("missing zero version migration"): done here, one creates it whole
// while the other waits, and a table left without its zero version (a crash
// between the two statements) gets it. The table is goose's, as goose's
// MySQL dialect creates it.
func ensureVersionTable(ctx context.Context, sqlDB *sql.DB) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create the version table: %w", err)
	}
	defer conn.Close()
	name, err := migrateLock{}.lockName(ctx, conn)
	if err != nil {
		return fmt.Errorf("create the version table: %w", err)
	}
	name = "trashd.version." + name[len("trashd.migrate."):]
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, migrateLockWait).Scan(&got); err != nil {
		return fmt.Errorf("create the version table: take its lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("create the version table: another trashd has held its lock for over %ds", migrateLockWait)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name) //nolint:errcheck // the server releases it with the connection
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+versionTable+"` ("+
		"id bigint(20) unsigned NOT NULL AUTO_INCREMENT, version_id bigint NOT NULL, is_applied boolean NOT NULL, "+
		"tstamp datetime NULL default CURRENT_TIMESTAMP, PRIMARY KEY(id))"); err != nil {
		return fmt.Errorf("create the version table %s: %w", versionTable, err)
	}
	var has bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM `"+versionTable+"` WHERE version_id = 0)").Scan(&has); err != nil {
		return fmt.Errorf("read the version table %s: %w", versionTable, err)
	}
	if !has {
		if _, err := conn.ExecContext(ctx, "INSERT INTO `"+versionTable+"` (version_id, is_applied) VALUES (0, TRUE)"); err != nil {
			return fmt.Errorf("write the zero version into %s: %w", versionTable, err)
		}
	}
	return nil
}

// LatestVersion is the newest migration this binary knows.
func LatestVersion() int64 {
	versions := KnownVersions()
	return versions[len(versions)-1]
}

// KnownVersions are the migrations this binary knows, oldest first.
// They are the embedded SQL files' numbers (goose's NNNNN_name.sql) and the
// Go migrations'.
func KnownVersions() []int64 {
	names, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	var out []int64
	for _, name := range names {
		num, _, _ := strings.Cut(path.Base(name), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("embedded migration %s has no version number", name)) // a build mistake
		}
		out = append(out, v)
	}
	for _, m := range goMigrations() {
		out = append(out, m.Version)
	}
	slices.Sort(out)
	return out
}

// AppliedVersions are the migrations recorded as applied in
// trash_schema_version, oldest first; none when the table does not exist.
// It changes nothing.
func AppliedVersions(ctx context.Context, sqlDB *sql.DB) ([]int64, error) {
	var exists bool
	err := sqlDB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?)`, versionTable).Scan(&exists)
	if err != nil || !exists {
		return nil, err
	}
	rows, err := sqlDB.QueryContext(ctx, "SELECT DISTINCT version_id FROM `"+versionTable+"` WHERE is_applied AND version_id > 0 ORDER BY version_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// MigrationStatus reports the version trashd's tables are at (0 when they do
// not exist) and the latest version this binary knows. It changes nothing.
func MigrationStatus(ctx context.Context, sqlDB *sql.DB) (current, latest int64, err error) {
	latest = LatestVersion()

	// Not p.GetDBVersion: it creates the version table when it is missing,
	// and a status check must not write.
	var exists bool
	err = sqlDB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?)`, versionTable).Scan(&exists)
	if err != nil {
		return 0, latest, fmt.Errorf("migration status: %w", err)
	}
	if !exists {
		return 0, latest, nil
	}
	err = sqlDB.QueryRowContext(ctx,
		"SELECT COALESCE(MAX(version_id), 0) FROM `"+versionTable+"` WHERE is_applied").Scan(&current)
	if err != nil {
		return 0, latest, fmt.Errorf("migration status: %w", err)
	}
	return current, latest, nil
}

// migrateLock serialises migrations of one database with GET_LOCK, which
// MySQL and MariaDB both have and which the server releases by itself if the
// connection drops. (goose's MySQL locker needs a lock table of its own.)
type migrateLock struct{}

// lockName is per database, since GET_LOCK names are server-wide, and hashed
// because they are limited to 64 characters.
func (migrateLock) lockName(ctx context.Context, conn *sql.Conn) (string, error) {
	var name sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return "", err
	}
	if !name.Valid {
		return "", errors.New("the connection has no database selected")
	}
	return fmt.Sprintf("trashd.migrate.%x", sha256.Sum256([]byte(name.String)))[:48], nil
}

func (l migrateLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	name, err := l.lockName(ctx, conn)
	if err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, migrateLockWait).Scan(&got); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("take the migration lock: another trashd has been migrating this database for over %ds", migrateLockWait)
	}
	return nil
}

func (l migrateLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	name, err := l.lockName(ctx, conn)
	if err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	return nil
}
