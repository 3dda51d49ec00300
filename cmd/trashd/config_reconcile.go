package main

import (
	"strings"
	"time"

	"trashd/reconcile"
)

// passVariables are the variables of a pass: its batches, leases, retries,
// the mass-change brake and the logs; reconcile.Config.Validate checks them.
func passVariables() []variable {
	return []variable{
		intVar("TRASHD_BATCH_SIZE", reconcile.DefaultBatchSize, "trashed LMS rows recorded per discovery batch (each batch is read in as many bounded range statements as it takes)", func(c *Config) *int { return &c.Reconcile.BatchSize }),
		intVar("TRASHD_CONCURRENCY", reconcile.DefaultConcurrency, "S3 requests of moves in flight at once (docs/operations.md says how to size it)", func(c *Config) *int { return &c.Reconcile.Concurrency }),
		intVar("TRASHD_MOVE_BATCH", reconcile.DefaultMoveBatch, "records moved together: their state written in one statement, their sources deleted in one DeleteObjects (1: batches of one, on the same protocol)", func(c *Config) *int { return &c.Reconcile.MoveBatch }),
		durationVar("TRASHD_LEASE", reconcile.DefaultLease, "how long a claim on an object lasts without renewal (renewed every third of it while working); at least 10s and 3 × the sum of the three MySQL timeouts", func(c *Config) *time.Duration { return &c.Reconcile.Lease }),
		intVar("TRASHD_MAX_ATTEMPTS", reconcile.DefaultMaxAttempts, "attempts before an object is recorded failed", func(c *Config) *int { return &c.Reconcile.MaxAttempts }),
		durationVar("TRASHD_BACKOFF_BASE", reconcile.DefaultBackoffBase, "first retry delay after a transient error (doubles per attempt, with jitter)", func(c *Config) *time.Duration { return &c.Reconcile.BackoffBase }),
		durationVar("TRASHD_BACKOFF_MAX", reconcile.DefaultBackoffMax, "longest retry delay", func(c *Config) *time.Duration { return &c.Reconcile.BackoffMax }),
		durationVar("TRASHD_FAIL_AFTER", reconcile.DefaultFailAfter, "an object is recorded `failed` only once `TRASHD_MAX_ATTEMPTS` attempts in a row failed **and** it has been failing this long (an outage of minutes uses up nothing)", func(c *Config) *time.Duration { return &c.Reconcile.FailAfter }),
		durationVar("TRASHD_SHARED_RECHECK", reconcile.DefaultSharedCheck, "how long a `shared` object (an untrashed LMS row still uses it) waits before a pass looks again", func(c *Config) *time.Duration { return &c.Reconcile.SharedRecheck }),
		boolVar("TRASHD_ALLOW_MASS_CHANGE", false, "`true` lets every pass of the service through the mass-change brake; set it for one deliberate run, then unset it (`serve` warns at start while it is set)", func(c *Config) *bool { return &c.Reconcile.Mass.Allow }),
		intVar("TRASHD_MASS_CHANGE_COUNT", reconcile.DefaultMassCount, "the brake: a pass stops before changing anything if its discoveries, restores or orphanings exceed this many **and** `TRASHD_MASS_CHANGE_SHARE`; whatever the count, also if they are more than half of what they are weighed against and more than 10 (a trash column under which most rows look trashed; restores and orphanings only when also above this count or the share of the LMS table's rows)", func(c *Config) *int { return &c.Reconcile.Mass.Count }),
		floatVar("TRASHD_MASS_CHANGE_SHARE", reconcile.DefaultMassShare, "the brake's share: of the LMS table's rows (discoveries, rows trashed again) or of the files in the trash (restores, orphanings)", "a share above 0 and at most 1, such as 0.1",
			func(c *Config) *float64 { return &c.Reconcile.Mass.Share }),
		{Name: "TRASHD_LOG_LEVEL", Default: "info", Desc: "`debug`, `info`, `warn` or `error`", Opt: "LogLevel",
			parse: func(p *problems, v string, c *Config) {
				c.LogLevel = p.oneOf("TRASHD_LOG_LEVEL", strings.ToLower(v), "debug", "info", "warn", "error")
			}},
		{Name: "TRASHD_LOG_FORMAT", Default: "auto", Desc: "`auto` (text on a terminal, else JSON), `json` or `text`; logs go to stderr, a command's result to stdout", Opt: "LogFormat",
			parse: func(p *problems, v string, c *Config) {
				c.LogFormat = p.oneOf("TRASHD_LOG_FORMAT", strings.ToLower(v), "auto", "json", "text")
			}},
	}
}
