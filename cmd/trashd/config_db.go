package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"trashd/db"
)

// dbVariables are the TRASHD_MYSQL_* and TRASHD_LMS_* variables;
// db.Options.Validate and db.LMSTable.Validate check them.
func dbVariables() []variable {
	return []variable{
		{Name: "TRASHD_MYSQL_HOST", Default: db.DefaultHost, Desc: "MySQL host name or address, reached over TCP (a unix socket path is refused)", Opt: "DB.Host", parse: parseMySQLHost},
		intVar("TRASHD_MYSQL_PORT", db.DefaultPort, "MySQL port", func(c *Config) *int { return &c.DB.Port }),
		stringVar("TRASHD_MYSQL_USER", "trashd", "MySQL user", func(c *Config) *string { return &c.DB.User }),
		stringVar("TRASHD_MYSQL_PASSWORD", "", "MySQL password (prefer the `_FILE` form)", func(c *Config) *string { return &c.DB.Password }),
		// After TRASHD_MYSQL_PASSWORD, whose value it replaces and checks.
		{Name: "TRASHD_MYSQL_PASSWORD_FILE", Desc: "file holding the MySQL password, e.g. a systemd credential; an empty file is refused", parse: parsePasswordFile},
		stringVar("TRASHD_MYSQL_DATABASE", "lms", "database holding the LMS table and trashd's tables", func(c *Config) *string { return &c.DB.Database }),
		stringVar("TRASHD_MYSQL_TLS", db.DefaultTLS, "`auto`: verified TLS to any host but a loopback one (`127.0.0.1`, `::1`, `localhost`), none on loopback; `true`: verified TLS; `false`: none; `skip-verify` and `preferred` check no certificate (and `preferred` falls back to plaintext), so neither protects the password from a machine in the path", func(c *Config) *string { return &c.DB.TLS }),
		intVar("TRASHD_MYSQL_MAX_OPEN_CONNS", db.DefaultMaxOpenConns, "connection pool size (a batch uses one connection at a time; objects moved one by one use one each while they write)", func(c *Config) *int { return &c.DB.MaxOpenConns }),
		intVar("TRASHD_MYSQL_MAX_IDLE_CONNS", db.DefaultMaxOpenConns, "idle connections kept", func(c *Config) *int { return &c.DB.MaxIdleConns }),
		durationVar("TRASHD_MYSQL_CONN_MAX_LIFETIME", db.DefaultConnMaxLifetime, "connections are recycled after this", func(c *Config) *time.Duration { return &c.DB.ConnMaxLifetime }),
		durationVar("TRASHD_MYSQL_DIAL_TIMEOUT", db.DefaultDialTimeout, "connect timeout", func(c *Config) *time.Duration { return &c.DB.DialTimeout }),
		durationVar("TRASHD_MYSQL_READ_TIMEOUT", db.DefaultIOTimeout, "I/O read timeout (discovery's statements each have a deadline of 5s and read a bounded id range, so a large LMS table does not run into it)", func(c *Config) *time.Duration { return &c.DB.ReadTimeout }),
		durationVar("TRASHD_MYSQL_WRITE_TIMEOUT", db.DefaultIOTimeout, "I/O write timeout", func(c *Config) *time.Duration { return &c.DB.WriteTimeout }),

		stringVar("TRASHD_LMS_TABLE", "files", "the LMS table of files (only ever read): a base table in `TRASHD_MYSQL_DATABASE`, not a view", func(c *Config) *string { return &c.LMS.Table }),
		stringVar("TRASHD_LMS_ID_COLUMN", "id", "its integer primary key; ids from -2^63+1 to 2^63-1", func(c *Config) *string { return &c.LMS.IDColumn }),
		stringVar("TRASHD_LMS_KEY_COLUMN", "s3_key", "its object key column", func(c *Config) *string { return &c.LMS.KeyColumn }),
		stringVar("TRASHD_LMS_BUCKET_COLUMN", "", "its source bucket column; empty: every row is in `TRASHD_SOURCE_BUCKET`", func(c *Config) *string { return &c.LMS.BucketColumn }),
		stringVar("TRASHD_LMS_TRASH_COLUMN", "trashed", "its trash flag column", func(c *Config) *string { return &c.LMS.TrashColumn }),
		stringVar("TRASHD_LMS_TRASH_KIND", db.TrashFlag, "`flag` (non-zero means trashed), `timestamp` (non-NULL means trashed) or `value` (one of `TRASHD_LMS_TRASH_VALUES` means trashed)", func(c *Config) *string { return &c.LMS.TrashKind }),
		{Name: "TRASHD_LMS_TRASH_VALUES", Desc: "with `TRASHD_LMS_TRASH_KIND=value`: the trash column's values that mean trashed, comma-separated (Canvas: `deleted`); NULL and every other value mean live", Opt: "LMS.TrashValues",
			parse: func(_ *problems, v string, c *Config) { c.LMS.TrashValues = splitValues(v) }},
		boolVar("TRASHD_LMS_UNIQUE_KEYS", false, "`true`: an object is moved even if another LMS row names it (declare that no two rows share an object); `false` needs an index on the key column", func(c *Config) *bool { return &c.LMS.UniqueKeys }),
	}
}

// parseMySQLHost reads TRASHD_MYSQL_HOST. trashd connects over TCP only (its
// TLS choice, timeouts and messages are a host's and a port's): a socket
// path, which would otherwise fail as an unresolvable host name, is refused
// with the form to use.
func parseMySQLHost(p *problems, v string, c *Config) {
	c.DB.Host = v
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "@") || strings.HasPrefix(strings.ToLower(v), "unix(") {
		p.add("TRASHD_MYSQL_HOST", fmt.Sprintf("%q is a unix socket; trashd connects to MySQL over TCP only: "+
			"set TRASHD_MYSQL_HOST to the server's host name or address and TRASHD_MYSQL_PORT to its port "+
			"(e.g. TRASHD_MYSQL_HOST=127.0.0.1 and TRASHD_MYSQL_PORT=3306 for a local server)", v))
	}
}

// parsePasswordFile reads TRASHD_MYSQL_PASSWORD_FILE, the password's file
// (a systemd credential): its first line, without the line ending.
func parsePasswordFile(p *problems, v string, c *Config) {
	if v == "" {
		return
	}
	if c.DB.Password != "" {
		p.add("TRASHD_MYSQL_PASSWORD_FILE", "set only one of TRASHD_MYSQL_PASSWORD and TRASHD_MYSQL_PASSWORD_FILE")
	}
	b, err := os.ReadFile(v)
	if err != nil {
		p.add("TRASHD_MYSQL_PASSWORD_FILE", fmt.Sprintf("cannot read the password file: %v", err))
		return
	}
	if strings.TrimSpace(string(b)) == "" {
		p.add("TRASHD_MYSQL_PASSWORD_FILE", fmt.Sprintf("the password file %s is empty (or only white space): "+
			"write the MySQL password into it, or unset TRASHD_MYSQL_PASSWORD_FILE for a user without a password", v))
		return
	}
	c.DB.Password = strings.TrimRight(string(b), "\r\n")
}
