package reconcile

import (
	"cmp"
	"errors"
	"time"
)

// Config tunes a Runner. Zero values take the defaults below.
type Config struct {
	TrashBucket  string      // required
	TrashKeys    KeyTemplate // default DefaultKeyTemplate
	SourceBucket string      // the default source bucket, checked before a pass; may be empty
	Owner        string      // who holds leases: host, pid and a random suffix
	Host         string      // recorded with each run
	BatchSize    int         // LMS rows read per discovery query
	Concurrency  int         // objects moved at once
	// MoveBatch is how many records a claim takes (movebatch.go), which
	// are moved together: one statement and one DeleteObjects for many
	// objects. 1 moves batches of one, on the same protocol.
	MoveBatch     int
	Lease         time.Duration
	MaxAttempts   int
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	SourceRetries int           // immediate restarts when the source changes mid-move
	Grace         time.Duration // after a stop request, how long in-flight steps may take
	// FailAfter: a record is failed (terminal) only after MaxAttempts
	// attempts in a row failed and it has been failing for this long, so
	// that an outage of minutes does not use up the attempts.
	FailAfter time.Duration
	// SharedRecheck is how long a shared record (an untrashed LMS row still
	// names its object) waits before a pass looks again.
	SharedRecheck time.Duration
	Mass          MassLimits
	Archive       ArchiveConfig
	// Forbid names conditions never to rely on, whatever a probe finds, and
	// the setting that forbids each (for reports): a way to forbid a
	// feature, never to assert one.
	Forbid map[Condition]string
	// DeleteAfterHead accepts, for a source bucket that proves no If-Match
	// on DeleteObject and keeps no versions, an unconditional delete right
	// after a HEAD that finds exactly the copied object: a file written in
	// the round trip between the two would be lost. Without it trashd
	// deletes no source there.
	DeleteAfterHead bool
	// HeadFirst HEADs every source before its copy, even where the copy's
	// own answer can prove the move (blind.go): two requests in series per
	// object instead of one.
	HeadFirst bool
}

// Defaults, in one place: cmd derives its environment's defaults from them.
const (
	DefaultBatchSize = 500
	// DefaultConcurrency: S3 requests at 20–50 ms keep a slot busy most of
	// the time; 64 moves about a thousand objects a second at 30 ms, within
	// S3's 3,500 writes per second per prefix (docs/operations.md, sizing).
	DefaultConcurrency   = 64
	DefaultMoveBatch     = 128
	DefaultLease         = 5 * time.Minute
	DefaultMaxAttempts   = 5
	DefaultBackoffBase   = 30 * time.Second
	DefaultBackoffMax    = time.Hour
	DefaultSourceRetries = 3
	DefaultGrace         = 30 * time.Second
	DefaultFailAfter     = 24 * time.Hour
	DefaultSharedCheck   = time.Hour
	// MinLease is the shortest lease: a delete needs a fresh fence (a
	// quarter of the lease), and a renewal must fit in it. A lease must
	// also outlast several database round trips at their timeouts; cmd
	// checks that, since only it knows both.
	MinLease = time.Second
)

// Ranges of Config's counts.
const (
	MaxBatchSize   = 100000
	MaxConcurrency = 1024
	MaxMoveBatch   = 1000
	MaxAttempts    = 1000
)

func (c Config) withDefaults() Config {
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.MoveBatch = cmp.Or(c.MoveBatch, DefaultMoveBatch)
	c.Lease = cmp.Or(c.Lease, DefaultLease)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.BackoffBase = cmp.Or(c.BackoffBase, DefaultBackoffBase)
	c.BackoffMax = cmp.Or(c.BackoffMax, DefaultBackoffMax)
	c.SourceRetries = cmp.Or(c.SourceRetries, DefaultSourceRetries)
	c.Grace = cmp.Or(c.Grace, DefaultGrace)
	c.FailAfter = cmp.Or(c.FailAfter, DefaultFailAfter)
	c.SharedRecheck = cmp.Or(c.SharedRecheck, DefaultSharedCheck)
	c.Mass = c.Mass.withDefaults()
	c.Archive = c.Archive.withDefaults()
	c.Owner = cmp.Or(c.Owner, c.Host)
	return c
}

// Validate reports every problem at once, each a *FieldError naming its
// field. It checks the values as they are: NewRunner fills the zero values
// with the defaults first, so a zero here is refused where it means nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	switch {
	case c.TrashBucket == "":
		bad("TrashBucket", "is not set: name the bucket the trash copies go to")
	case c.TrashBucket == c.SourceBucket:
		bad("TrashBucket", "%q is also {{SourceBucket}}; the trash needs a bucket of its own", c.TrashBucket)
	default:
		if err := CheckBucketName(c.TrashBucket); err != nil {
			bad("TrashBucket", "%v", err)
		}
	}
	if c.SourceBucket != "" {
		if err := CheckBucketName(c.SourceBucket); err != nil {
			bad("SourceBucket", "%v", err)
		}
	}
	if c.Owner == "" {
		bad("Owner", "is not set: name who holds leases (host, pid and a random suffix)")
	}
	count := func(field string, n, lo, hi int) {
		if n < lo || n > hi {
			bad(field, "%d is not a whole number from %d to %d", n, lo, hi)
		}
	}
	count("BatchSize", c.BatchSize, 1, MaxBatchSize)
	count("Concurrency", c.Concurrency, 1, MaxConcurrency)
	count("MoveBatch", c.MoveBatch, 1, MaxMoveBatch)
	count("MaxAttempts", c.MaxAttempts, 1, MaxAttempts)
	count("SourceRetries", c.SourceRetries, 0, 100)
	if c.Lease < MinLease {
		bad("Lease", "%s is too short; use at least %s", c.Lease, MinLease)
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, "%s is not a positive duration", d)
		}
	}
	positive("BackoffBase", c.BackoffBase)
	positive("Grace", c.Grace)
	positive("FailAfter", c.FailAfter)
	positive("SharedRecheck", c.SharedRecheck)
	if c.BackoffMax < c.BackoffBase {
		bad("BackoffMax", "%s is below {{BackoffBase}} (%s); raise it or lower that", c.BackoffMax, c.BackoffBase)
	}
	errs = append(errs, WithFieldPrefix("Mass", c.Mass.Validate()), WithFieldPrefix("Archive", c.Archive.Validate()))
	return errors.Join(errs...)
}
