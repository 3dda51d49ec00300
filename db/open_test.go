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

// TLSAuto is verified TLS to any host but a loopback one, and none there;
// an explicit mode is kept as it is.
func TestOptionsTLSAuto(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host, tls, want string
	}{
		{"127.0.0.1", "", "false"},
		{"127.0.0.2", db.TLSAuto, "false"},
		{"::1", db.TLSAuto, "false"},
		{"localhost", db.TLSAuto, "false"},
		{"LocalHost", db.TLSAuto, "false"},
		{"db.example", db.TLSAuto, "true"},
		{"10.0.0.5", "", "true"},
		{"localhost.example", db.TLSAuto, "true"}, // a name that may resolve anywhere
		{"db.example", db.TLSPreferred, "preferred"},
		{"127.0.0.1", db.TLSVerified, "true"},
		{"db.example", db.TLSOff, "false"},
	} {
		cfg, err := mysql.ParseDSN(db.Options{Host: tc.host, TLS: tc.tls, Database: "lms"}.DSN())
		if err != nil {
			t.Fatalf("ParseDSN: %v", err)
		}
		if cfg.TLSConfig != tc.want {
			t.Errorf("host %s, TLS %q: tls=%q, want %q", tc.host, tc.tls, cfg.TLSConfig, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	o := db.Options{Host: "", Port: 70000, Database: "", TLS: "maybe", MaxOpenConns: 0, MaxIdleConns: -1}
	fields := map[string]bool{}
	for _, fe := range db.FieldErrors(o.Validate()) {
		fields[fe.Field] = true
	}
	for _, want := range []string{"Host", "Port", "Database", "TLS", "MaxOpenConns", "MaxIdleConns", "DialTimeout", "ReadTimeout"} {
		if !fields[want] {
			t.Errorf("Validate did not name %s (named %v)", want, fields)
		}
	}
	if _, err := db.Open(t.Context(), db.Options{Database: "lms", TLS: "maybe"}); err == nil || !strings.Contains(err.Error(), `TLS "maybe" is not one of`) {
		t.Errorf("Open with TLS=maybe: %v, want the field named", err)
	}
}
