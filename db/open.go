package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options say how to reach trashd's MySQL database. The zero value of a field
// means its default, noted beside it.
type Options struct {
	Host     string // default 127.0.0.1
	Port     int    // default 3306
	User     string
	Password string
	Database string // required: the LMS's database, where trashd keeps its tables too

	// TLS is go-sql-driver's tls value: "false" (the default), "true",
	// "skip-verify", "preferred", or the name of a config registered with
	// mysql.RegisterTLSConfig.
	TLS string

	MaxOpenConns    int           // default 10
	MaxIdleConns    int           // default MaxOpenConns
	ConnMaxLifetime time.Duration // default 5m, below the idle cut-off of most proxies
	DialTimeout     time.Duration // default 10s
	ReadTimeout     time.Duration // default none: a context bounds each query
	WriteTimeout    time.Duration // default none
}

func (o Options) withDefaults() Options {
	o.Host = cmp.Or(o.Host, "127.0.0.1")
	o.Port = cmp.Or(o.Port, 3306)
	o.MaxOpenConns = cmp.Or(o.MaxOpenConns, 10)
	o.MaxIdleConns = cmp.Or(o.MaxIdleConns, o.MaxOpenConns)
	o.ConnMaxLifetime = cmp.Or(o.ConnMaxLifetime, 5*time.Minute)
	o.DialTimeout = cmp.Or(o.DialTimeout, 10*time.Second)
	return o
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
	c.TLSConfig = o.TLS
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
	if o.Database == "" {
		return nil, errors.New("open MySQL: no database configured")
	}
	connector, err := mysql.NewConnector(o.config())
	if err != nil {
		return nil, fmt.Errorf("open MySQL %s: %w", o.addr(), err)
	}
	d := o.withDefaults()
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(d.MaxOpenConns)
	sqlDB.SetMaxIdleConns(d.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(d.ConnMaxLifetime)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to MySQL %s: %w", o.addr(), err)
	}
	return sqlDB, nil
}
