package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"trashd/reconcile"
)

// RetryStates are the end states an operator may re-queue with `trashd
// retry`: a move that failed or found its object missing. (restore_failed
// is retried by clearing and setting the flag again: see the README.)
var RetryStates = []reconcile.State{reconcile.StateFailed, reconcile.StateMissing}

// Failure is a record that ended failed or missing, with its reason.
type Failure struct {
	ID, LMSID  int64
	State      reconcile.State
	Bucket     string // "" when no bucket was known at discovery (TRASHD_SOURCE_BUCKET unset)
	Key        string
	Reason     string
	Attempts   int // failed attempts in the last run of failures
	FinishedAt time.Time
	// Verified: the record holds a verified trash copy (trash_etag), so a
	// retry resumes from copied instead of copying again.
	Verified bool
}

// FailureFilter selects failures: of States (every RetryStates when
// empty), and of the LMS rows LMSIDs when it is not empty.
type FailureFilter struct {
	States []reconcile.State
	LMSIDs []int64
}

// Failures returns up to limit failures with id > after, in id order.
func (s *Store) Failures(ctx context.Context, f FailureFilter, after int64, limit int) ([]Failure, error) {
	st := f.States
	if len(st) == 0 {
		st = RetryStates
	}
	for _, x := range st {
		if !slices.Contains(RetryStates, x) {
			return nil, fmt.Errorf("list failures: %q is not one of %s", x, joinStates(RetryStates))
		}
	}
	q := "SELECT id, lms_id, state, source_bucket, source_key, COALESCE(last_error, ''), attempts, finished_at, trash_etag IS NOT NULL" +
		" FROM trash_objects WHERE state IN " + inStates(st) + " AND id > ?"
	args := []any{after}
	if len(f.LMSIDs) > 0 {
		q += " AND lms_id IN (" + placeholders(len(f.LMSIDs)) + ")"
		for _, id := range f.LMSIDs {
			args = append(args, id)
		}
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var (
			f        Failure
			state    string
			finished sql.NullTime
		)
		if err := rows.Scan(&f.ID, &f.LMSID, &state, &f.Bucket, &f.Key, &f.Reason, &f.Attempts, &finished, &f.Verified); err != nil {
			return nil, fmt.Errorf("list failures: %w", err)
		}
		f.State, f.FinishedAt = reconcile.State(state), finished.Time
		out = append(out, f)
	}
	return out, rows.Err()
}

// Retried is what Retry did with one failure.
type Retried struct {
	Failure
	To     reconcile.State // copied or pending; "" when skipped
	Bucket string          // the source bucket from now on (picked up when it was empty)
	Skip   string          // why it was not re-queued
}

// Retry re-queues failures (with dryRun, only says what it would do): a
// record with a verified trash copy goes back to copied, any other to
// pending, due now, with its attempts and failing time reset, no lease
// and no error. A record without a source bucket picks up the LMS row's
// bucket column or the default bucket, as discovery would now.
//
// A failure is skipped, with the reason, when its LMS row is gone or names
// another key than the record (a key that could not be stored exactly at
// discovery is clipped in the record: moving it would move the wrong
// object), when it still has no bucket, or when the row can still never be
// moved. A record that changed meanwhile (another host, a pass) is left to
// it.
func (s *Store) Retry(ctx context.Context, failures []Failure, dryRun bool) ([]Retried, error) {
	rows, err := s.lmsRows(ctx, failures)
	if err != nil {
		return nil, err
	}
	out := make([]Retried, 0, len(failures))
	for _, f := range failures {
		r := Retried{Failure: f, Bucket: f.Bucket}
		row, ok := rows[f.LMSID]
		switch {
		case !ok:
			r.Skip = fmt.Sprintf("LMS row %d is gone; nothing to move", f.LMSID)
		case row.Key != f.Key:
			r.Skip = fmt.Sprintf("LMS row %d names another key than the record", f.LMSID)
			if why := row.Unmovable(); why != "" {
				r.Skip = why + "; fix the row in the LMS"
			}
		}
		if r.Skip == "" && r.Bucket == "" {
			r.Bucket = row.Bucket
			if r.Bucket == "" {
				r.Skip = "no source bucket: set TRASHD_SOURCE_BUCKET (or the row's bucket column), then retry"
			}
		}
		if r.Skip == "" {
			if why := (reconcile.TrashedRow{LMSID: f.LMSID, Bucket: r.Bucket, Key: f.Key}).Unmovable(); why != "" {
				r.Skip = why + "; fix the row in the LMS"
			}
		}
		if r.Skip != "" {
			out = append(out, r)
			continue
		}
		r.To = reconcile.StatePending
		if f.Verified {
			r.To = reconcile.StateCopied
		}
		if !dryRun {
			res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = ?, source_bucket = ?, attempts = 0, failing_since = NULL,"+
				" next_attempt_at = NOW(6), finished_at = NULL, last_error = NULL,"+
				" lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = NOW(6)"+
				" WHERE id = ? AND state = ? AND (lease_token IS NULL OR lease_expires_at < NOW(6))",
				string(r.To), r.Bucket, f.ID, string(f.State))
			if err != nil {
				return out, fmt.Errorf("re-queue record %d (LMS row %d): %w", f.ID, f.LMSID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return out, fmt.Errorf("re-queue record %d (LMS row %d): %w", f.ID, f.LMSID, err)
			} else if n == 0 {
				r.To, r.Skip = "", "the record changed meanwhile (another pass took it up); see `trashd status --failed`"
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// lmsRows reads the LMS rows of failures: key and bucket (the row's bucket
// column, else the default bucket), as ScanTrashed reads them.
func (s *Store) lmsRows(ctx context.Context, failures []Failure) (map[int64]reconcile.TrashedRow, error) {
	out := make(map[int64]reconcile.TrashedRow, len(failures))
	bucket := "NULL"
	if s.lms.BucketColumn != "" {
		bucket = quote(s.lms.BucketColumn)
	}
	for chunk := range slices.Chunk(failures, 500) {
		args := make([]any, len(chunk))
		for i, f := range chunk {
			args[i] = f.LMSID
		}
		q := "SELECT " + quote(s.lms.IDColumn) + ", " + quote(s.lms.KeyColumn) + ", " + bucket + " FROM " + quote(s.lms.Table) +
			" WHERE " + quote(s.lms.IDColumn) + " IN (" + placeholders(len(chunk)) + ")"
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read the LMS rows to retry: %w", err)
		}
		for rows.Next() {
			var (
				r           reconcile.TrashedRow
				key, bucket sql.NullString
			)
			if err := rows.Scan(&r.LMSID, &key, &bucket); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read the LMS rows to retry: %w", err)
			}
			r.Key, r.Bucket = key.String, cmp.Or(bucket.String, s.lms.DefaultBucket)
			out[r.LMSID] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read the LMS rows to retry: %w", err)
		}
	}
	return out, nil
}

func joinStates(states []reconcile.State) string {
	s := make([]string, len(states))
	for i, x := range states {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
