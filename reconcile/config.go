package reconcile

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Config tunes a Runner. Zero values take the defaults below.
type Config struct {
	TrashBucket   string      // required
	TrashKeys     KeyTemplate // default DefaultKeyTemplate
	SourceBucket  string      // the default source bucket, checked before a pass; may be empty
	Owner         string      // who holds leases: host, pid and a random suffix
	Host          string      // recorded with each run
	BatchSize     int         // LMS rows read per discovery query
	Concurrency   int         // objects moved at once
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
}

// Defaults, in one place for the README's configuration table.
const (
	DefaultBatchSize   = 500
	DefaultConcurrency = 16
	DefaultLease       = 5 * time.Minute
	DefaultMaxAttempts = 5
	DefaultBackoffBase = 30 * time.Second
	DefaultBackoffMax  = time.Hour
	DefaultGrace       = 30 * time.Second
	DefaultFailAfter   = 24 * time.Hour
	DefaultSharedCheck = time.Hour
	// MinLease is the shortest lease: a delete needs a fresh fence (a
	// quarter of the lease), and a renewal must fit in it.
	MinLease = time.Second
)

func (c Config) withDefaults() Config {
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.Lease = cmp.Or(c.Lease, DefaultLease)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.BackoffBase = cmp.Or(c.BackoffBase, DefaultBackoffBase)
	c.BackoffMax = cmp.Or(c.BackoffMax, DefaultBackoffMax)
	c.SourceRetries = cmp.Or(c.SourceRetries, 3)
	c.Grace = cmp.Or(c.Grace, DefaultGrace)
	c.FailAfter = cmp.Or(c.FailAfter, DefaultFailAfter)
	c.SharedRecheck = cmp.Or(c.SharedRecheck, DefaultSharedCheck)
	c.Mass = c.Mass.withDefaults()
	c.Archive = c.Archive.withDefaults()
	c.Owner = cmp.Or(c.Owner, c.Host)
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.TrashBucket == "" {
		errs = append(errs, errors.New("the trash bucket is not set"))
	}
	if c.TrashBucket != "" && c.TrashBucket == c.SourceBucket {
		errs = append(errs, fmt.Errorf("the trash bucket %q is also the source bucket; use a bucket of its own", c.TrashBucket))
	}
	if c.Owner == "" {
		errs = append(errs, errors.New("the lease owner is not set"))
	}
	if c.BatchSize < 1 || c.Concurrency < 1 || c.MaxAttempts < 1 {
		errs = append(errs, errors.New("batch size, concurrency and max attempts must be at least 1"))
	}
	if c.Lease < MinLease {
		errs = append(errs, fmt.Errorf("lease %s is too short; use at least %s", c.Lease, MinLease))
	}
	if err := c.Mass.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BackoffMax < c.BackoffBase {
		errs = append(errs, fmt.Errorf("backoff max %s is below backoff base %s", c.BackoffMax, c.BackoffBase))
	}
	if err := c.Archive.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
