package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"trashd/db"
)

// lmsVerdict is what `trashd migrate` and `trashd doctor`, which do not read
// the LMS table themselves, say about it: whether reconcile and serve can
// use it as configured.
type lmsVerdict struct {
	Table    string   `json:"table"`
	Checked  bool     `json:"checked"`           // false: MySQL could not be asked
	Problem  string   `json:"problem,omitempty"` // why reconcile and serve would refuse it
	Warnings []string `json:"warnings,omitempty"`
	// unseen: the MySQL user sees no table of that name (not granted
	// SELECT on it, or it does not exist).
	unseen bool
}

// checkLMSTable checks cfg's LMS table as every command that reads it does
// at start (db.CheckLMSTable), on sqlDB.
func checkLMSTable(ctx context.Context, cfg Config, sqlDB *sql.DB) lmsVerdict {
	v := lmsVerdict{Table: cfg.LMS.Table, Checked: true}
	warnings, err := db.CheckLMSTable(ctx, sqlDB, cfg.LMS)
	if err != nil {
		v.Problem = schemaVars(err).Error()
		v.unseen = errors.Is(err, db.ErrLMSTableNotFound)
	}
	v.Warnings = warnings
	return v
}

// refusal is the problem as an error for the command to exit with, or nil.
func (v lmsVerdict) refusal() error {
	if v.Problem == "" {
		return nil
	}
	return fmt.Errorf("the LMS table cannot be used as configured, and trashd reconcile and serve refuse to start until it is fixed: %s", v.Problem)
}

// printWarnings prints the verdict's warnings, and its problem as a warning
// too when warnProblem is set, to stderr.
func (v lmsVerdict) printWarnings(stderr io.Writer, warnProblem bool) {
	for _, w := range v.Warnings {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", escapeText(w))
	}
	if err := v.refusal(); err != nil && warnProblem {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", escapeText(err.Error()))
	}
}
