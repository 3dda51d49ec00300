package db_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"trashd/db"
	"trashd/db/dbtest"
)

func TestOptionsDSN(t *testing.T) {
	t.Parallel()
	o := db.Options{
		Host: "db.example", Port: 3307, User: "trashd", Password: "p@ss:w/rd", Database: "lms",
		TLS: "skip-verify", DialTimeout: 3 * time.Second, ReadTimeout: 4 * time.Second, WriteTimeout: 5 * time.Second,
	}
	cfg, err := mysql.ParseDSN(o.DSN())
	if err != nil {
		t.Fatalf("ParseDSN(DSN()): %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Net", cfg.Net, "tcp"},
		{"Addr", cfg.Addr, "db.example:3307"},
		{"User", cfg.User, "trashd"},
		{"Passwd", cfg.Passwd, "p@ss:w/rd"},
		{"DBName", cfg.DBName, "lms"},
		{"TLSConfig", cfg.TLSConfig, "skip-verify"},
		{"ParseTime", cfg.ParseTime, true},
		{"Loc", cfg.Loc, time.UTC},
		{"ClientFoundRows", cfg.ClientFoundRows, true},
		{"time_zone", cfg.Params["time_zone"], "'+00:00'"},
		{"Timeout", cfg.Timeout, 3 * time.Second},
		{"ReadTimeout", cfg.ReadTimeout, 4 * time.Second},
		{"WriteTimeout", cfg.WriteTimeout, 5 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	cfg, err = mysql.ParseDSN(db.Options{Database: "lms"}.DSN())
	if err != nil {
		t.Fatalf("ParseDSN(DSN()) of defaults: %v", err)
	}
	if cfg.Addr != "127.0.0.1:3306" {
		t.Errorf("default Addr = %q, want 127.0.0.1:3306", cfg.Addr)
	}
}

func TestOpenSessionIsUTC(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.NewDatabase(t)
	var zone string
	var skew float64
	err := sqlDB.QueryRowContext(t.Context(),
		"SELECT @@session.time_zone, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), NOW(6))").Scan(&zone, &skew)
	if err != nil {
		t.Fatal(err)
	}
	if zone != "+00:00" || skew != 0 {
		t.Errorf("time_zone = %q, NOW(6) - UTC_TIMESTAMP(6) = %vµs; want +00:00 and 0", zone, skew)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	t.Parallel()
	_, opts := dbtest.NewDatabase(t)
	opts.User = "trashd_no_such_user"
	opts.Password = "hunter2-secret"
	_, err := db.Open(t.Context(), opts)
	if err == nil {
		t.Fatal("Open with a wrong user succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	want := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)) + "/" + opts.Database
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not name %s", msg, want)
	}
}

func TestOpenNeedsDatabase(t *testing.T) {
	t.Parallel()
	if _, err := db.Open(t.Context(), db.Options{}); err == nil {
		t.Fatal("Open without a database succeeded")
	}
}
