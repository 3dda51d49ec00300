package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// RecordLister walks trashd's records in id order, for the audit.
type RecordLister interface {
	// Records returns up to limit records with id > after, in id order.
	Records(ctx context.Context, after int64, limit int) ([]Record, error)
}

// AuditSummary counts what an audit looked at and what it found wrong.
type AuditSummary struct {
	Checked  int
	Skipped  int // records whose outcome is already recorded as a loss (missing, expired)
	Problems int
}

// Audit checks the invariant against S3 itself: for every record, the
// object exists intact (the recorded size and ETag or checksum) in the
// source bucket or at its trash key, never in neither. Each problem is
// passed to report, with the record; Audit changes nothing.
func Audit(ctx context.Context, records RecordLister, objects ObjectStore, trashBucket string, concurrency int,
	report func(Record, string)) (AuditSummary, error) {
	var (
		sum AuditSummary
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(concurrency, 1))
	)
	var after int64
	for ctx.Err() == nil {
		recs, err := records.Records(ctx, after, 500)
		if err != nil {
			wg.Wait()
			return sum, fmt.Errorf("read records after id %d: %w", after, err)
		}
		if len(recs) == 0 {
			break
		}
		after = recs[len(recs)-1].ID
		for _, rec := range recs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				problem, skipped := auditRecord(ctx, objects, trashBucket, rec)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case skipped:
					sum.Skipped++
				case problem != "":
					sum.Checked++
					sum.Problems++
					report(rec, problem)
				default:
					sum.Checked++
				}
			})
		}
	}
	wg.Wait()
	return sum, ctx.Err()
}

// auditRecord returns what is wrong with rec's object, "" when nothing.
func auditRecord(ctx context.Context, objects ObjectStore, trashBucket string, rec Record) (problem string, skipped bool) {
	switch rec.State {
	case StateMissing, StateExpired:
		return "", true
	case StateRestored:
		// The restored object where it was put. Its bytes may have changed
		// since (the file is the LMS's again); it must exist.
		key := cmp.Or(rec.RestoredKey, rec.Source.Key)
		_, err := objects.Head(ctx, rec.Source.Bucket, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return fmt.Sprintf("restored: s3://%s/%s, where the restore put the object, does not exist", rec.Source.Bucket, key), false
		case err != nil:
			return fmt.Sprintf("cannot look at s3://%s/%s: %v", rec.Source.Bucket, key, err), false
		}
		return "", false
	}
	// A trash copy must hold what was recorded of the copy itself (its own
	// size and ETag or checksum; the source's for a copy not yet
	// verified); a source only has to exist (the user may have replaced
	// the file before it was moved).
	identity, trashKey := rec.Source, rec.TrashKey
	if rec.Copy.ETag != "" {
		identity, trashKey = rec.Copy, cmp.Or(rec.Copy.Key, rec.TrashKey)
	}
	look := func(bucket, key string, verify bool) (bool, string) {
		if key == "" {
			return false, ""
		}
		obj, err := objects.Head(ctx, bucket, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return false, ""
		case err != nil:
			return false, fmt.Sprintf("cannot look at s3://%s/%s: %v", bucket, key, err)
		case verify && identity.ETag != "" && verifyCopy(identity, obj) != nil:
			return false, fmt.Sprintf("s3://%s/%s differs from what was recorded: %v", bucket, key, verifyCopy(identity, obj))
		}
		return true, ""
	}
	if rec.Copy.Bucket != "" {
		trashBucket = rec.Copy.Bucket // where the copy was made
	}
	inTrash, trashErr := look(trashBucket, trashKey, true)
	if inTrash {
		return "", false
	}
	// A source is deleted only once its copy is verified: from in_trash on,
	// the trash copy is the object.
	if !slices.Contains(InTrashStates(), rec.State) && rec.State != StateOrphaned {
		inSource, srcErr := look(rec.Source.Bucket, rec.Source.Key, false)
		if inSource {
			return "", false
		}
		if srcErr != "" {
			return srcErr, false
		}
	}
	if trashErr != "" {
		return trashErr, false
	}
	return fmt.Sprintf("%s: neither s3://%s/%s nor s3://%s/%s holds the object", rec.State,
		rec.Source.Bucket, rec.Source.Key, trashBucket, trashKey), false
}
