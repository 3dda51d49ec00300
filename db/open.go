package db

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options say how to reach trashd's MySQL database. The zero value of a field
// means its default, noted beside it.
type Options struct {
	Host     string // default DefaultHost
	Port     int    // default DefaultPort
	User     string
	Password string
	Database string // required: the LMS's database, where trashd keeps its tables too

	// TLS is one of TLSModes. The default, TLSAuto, is verified TLS (the
	// system's CAs, the certificate's name checked against Host) to any
	// host but a loopback one, and none on loopback, where the traffic never
	// leaves the machine. go-sql-driver's "preferred" is accepted but not
	// recommended: it checks no certificate and falls back to plaintext
	// when the server offers no TLS, so an attacker in the path sees the
	// password.
	TLS string

	MaxOpenConns int // default DefaultMaxOpenConns
	// Statements, when set, counts the statements the pool sends.
	Statements      *Statements
	MaxIdleConns    int           // default MaxOpenConns
	ConnMaxLifetime time.Duration // default DefaultConnMaxLifetime, below the idle cut-off of most proxies
	DialTimeout     time.Duration // default DefaultDialTimeout
	ReadTimeout     time.Duration // default DefaultIOTimeout; a context also bounds each query
	WriteTimeout    time.Duration // default DefaultIOTimeout
}

// TLS modes: TLSAuto, and go-sql-driver's own values.
const (
	TLSAuto       = "auto"        // TLSVerified off loopback, TLSOff on it
	TLSVerified   = "true"        // TLS with the certificate checked
	TLSOff        = "false"       // no TLS
	TLSSkipVerify = "skip-verify" // TLS, any certificate
	TLSPreferred  = "preferred"   // TLS if the server offers it, any certificate; else plaintext
)

// TLSModes are the values Options.TLS accepts.
var TLSModes = []string{TLSAuto, TLSVerified, TLSOff, TLSSkipVerify, TLSPreferred}

// Defaults of Options, in one place: cmd derives its environment's defaults
// from them.
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 3306
	DefaultTLS             = TLSAuto
	DefaultMaxOpenConns    = 32 // a few batches in their database steps, objects moved one by one, the scheduler and the metrics
	DefaultConnMaxLifetime = 5 * time.Minute
	DefaultDialTimeout     = 10 * time.Second
	DefaultIOTimeout       = 30 * time.Second
	// MaxConns bounds the pool: a typo, not a policy, beyond that.
	MaxConns = 10000
)

func (o Options) withDefaults() Options {
	o.Host = cmp.Or(o.Host, DefaultHost)
	o.Port = cmp.Or(o.Port, DefaultPort)
	o.TLS = cmp.Or(o.TLS, DefaultTLS)
	o.MaxOpenConns = cmp.Or(o.MaxOpenConns, DefaultMaxOpenConns)
	o.MaxIdleConns = cmp.Or(o.MaxIdleConns, o.MaxOpenConns)
	o.ConnMaxLifetime = cmp.Or(o.ConnMaxLifetime, DefaultConnMaxLifetime)
	o.DialTimeout = cmp.Or(o.DialTimeout, DefaultDialTimeout)
	o.ReadTimeout = cmp.Or(o.ReadTimeout, DefaultIOTimeout)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, DefaultIOTimeout)
	return o
}

// Validate reports every problem with o as it is (Open fills the zero values
// first), each a *FieldError naming its field.
func (o Options) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if o.Host == "" {
		bad("Host", "is empty: name the MySQL server")
	}
	if o.Port < 1 || o.Port > 65535 {
		bad("Port", "%d is not a port from 1 to 65535", o.Port)
	}
	if o.Database == "" {
		bad("Database", "is empty: name the database that holds the LMS table")
	}
	if !slices.Contains(TLSModes, o.TLS) {
		bad("TLS", "%q is not one of %s", o.TLS, strings.Join(TLSModes, ", "))
	}
	if o.MaxOpenConns < 1 || o.MaxOpenConns > MaxConns {
		bad("MaxOpenConns", "%d is not a whole number from 1 to %d", o.MaxOpenConns, MaxConns)
	}
	if o.MaxIdleConns < 0 || o.MaxIdleConns > MaxConns {
		bad("MaxIdleConns", "%d is not a whole number from 0 to %d", o.MaxIdleConns, MaxConns)
	}
	for field, d := range map[string]time.Duration{
		"ConnMaxLifetime": o.ConnMaxLifetime, "DialTimeout": o.DialTimeout,
		"ReadTimeout": o.ReadTimeout, "WriteTimeout": o.WriteTimeout,
	} {
		if d <= 0 {
			bad(field, "%s is not a positive duration", d)
		}
	}
	return errors.Join(errs...)
}

// tlsMode resolves TLSAuto for o's host.
func (o Options) tlsMode() string {
	if o.TLS != TLSAuto {
		return o.TLS
	}
	if isLoopback(o.Host) {
		return TLSOff
	}
	return TLSVerified
}

// isLoopback reports whether host is localhost or a loopback address. A
// name that merely resolves to one is not trusted to: DNS could change it.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// addr is host:port/database, for errors and logs; it never holds the password.
func (o Options) addr() string {
	o = o.withDefaults()
	return net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) + "/" + o.Database
}

func (o Options) config() *mysql.Config {
	o = o.withDefaults()
	c := mysql.NewConfig()
	c.User = o.User
	c.Passwd = o.Password
	c.Net = "tcp"
	c.Addr = net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	c.DBName = o.Database
	c.TLSConfig = o.tlsMode()
	c.Timeout = o.DialTimeout
	c.ReadTimeout = o.ReadTimeout
	c.WriteTimeout = o.WriteTimeout
	c.ParseTime = true
	c.Loc = time.UTC
	// DATETIME columns hold the database's NOW(6); in UTC they mean the same
	// on every host whatever the server's or the host's zone.
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	// An UPDATE fenced by the lease token must count the row it matched even
	// when it changed nothing, or a held lease would look lost.
	c.ClientFoundRows = true
	// Without it every query is a prepare, an execute and a close: three
	// round trips. The driver escapes arguments itself, which is safe with
	// the utf8mb4 connection charset it uses.
	c.InterpolateParams = true
	return c
}

// DSN is the go-sql-driver data source name for o. It holds the password:
// never log it.
func (o Options) DSN() string { return o.config().FormatDSN() }

// Open connects to the database, sizes the pool and pings the server. Its
// errors name host:port/database and never the password.
func Open(ctx context.Context, o Options) (*sql.DB, error) {
	if err := o.withDefaults().Validate(); err != nil {
		return nil, fmt.Errorf("open MySQL: %w", err)
	}
	connector, err := mysql.NewConnector(o.config())
	if err != nil {
		return nil, fmt.Errorf("open MySQL %s: %w", o.addr(), err)
	}
	d := o.withDefaults()
	var conn driver.Connector = connector
	if o.Statements != nil {
		conn = countingConnector{connector, o.Statements}
	}
	sqlDB := sql.OpenDB(conn)
	sqlDB.SetMaxOpenConns(d.MaxOpenConns)
	sqlDB.SetMaxIdleConns(d.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(d.ConnMaxLifetime)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to MySQL %s: %w", o.addr(), err)
	}
	return sqlDB, nil
}
