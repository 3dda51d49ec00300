package main

import (
	"fmt"
	"os"
	"strings"

	"trashd/db"
)

// parseDB reads the TRASHD_MYSQL_* variables; db.Options.Validate checks them.
func parseDB(p *problems, e env) db.Options {
	password := e.MySQLPassword
	if e.MySQLPasswordFile != "" {
		if e.MySQLPassword != "" {
			p.add("TRASHD_MYSQL_PASSWORD_FILE", "set only one of TRASHD_MYSQL_PASSWORD and TRASHD_MYSQL_PASSWORD_FILE")
		}
		b, err := os.ReadFile(e.MySQLPasswordFile)
		if err != nil {
			p.add("TRASHD_MYSQL_PASSWORD_FILE", fmt.Sprintf("cannot read the password file: %v", err))
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	return db.Options{
		Host:            e.MySQLHost,
		Port:            p.int("TRASHD_MYSQL_PORT", e.MySQLPort),
		User:            e.MySQLUser,
		Password:        password,
		Database:        e.MySQLDatabase,
		TLS:             e.MySQLTLS,
		MaxOpenConns:    p.int("TRASHD_MYSQL_MAX_OPEN_CONNS", e.MySQLMaxOpen),
		MaxIdleConns:    p.int("TRASHD_MYSQL_MAX_IDLE_CONNS", e.MySQLMaxIdle),
		ConnMaxLifetime: p.duration("TRASHD_MYSQL_CONN_MAX_LIFETIME", e.MySQLConnLife),
		DialTimeout:     p.duration("TRASHD_MYSQL_DIAL_TIMEOUT", e.MySQLDialTimeout),
		ReadTimeout:     p.duration("TRASHD_MYSQL_READ_TIMEOUT", e.MySQLReadTimeout),
		WriteTimeout:    p.duration("TRASHD_MYSQL_WRITE_TIMEOUT", e.MySQLWriteTimeout),
	}
}

// parseLMS reads the TRASHD_LMS_* variables; db.LMSTable.Validate checks them.
func parseLMS(p *problems, e env) db.LMSTable {
	return db.LMSTable{
		Table:         e.LMSTable,
		IDColumn:      e.LMSIDColumn,
		KeyColumn:     e.LMSKeyColumn,
		BucketColumn:  e.LMSBucketColumn,
		TrashColumn:   e.LMSTrashColumn,
		TrashKind:     e.LMSTrashKind,
		TrashValues:   splitValues(e.LMSTrashValues),
		DefaultBucket: e.SourceBucket,
		UniqueKeys:    p.bool("TRASHD_LMS_UNIQUE_KEYS", e.LMSUniqueKeys),
	}
}
