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
	Checked   int
	Skipped   int // records whose outcome is already recorded as a loss (missing, expired)
	Problems  int
	Unchecked int // records whose objects S3 did not answer for (neither found nor absent)
}

// Audit checks the invariant against S3 itself: for every record, the
// object exists intact (the recorded size and ETag or checksum) in the
// source bucket or at its trash key, never in neither. Each problem is
// passed to report, with the record; Audit changes nothing. A record whose
// object S3 did not answer for (a transient error: an outage, timeouts) is
// not a problem found but a check not made: it is counted Unchecked, and
// Audit returns an error naming the first such failure. A refusal (access
// denied, a key the server will not take) is a problem.
func Audit(ctx context.Context, records RecordLister, objects ObjectStore, trashBucket string, concurrency int,
	report func(Record, string)) (AuditSummary, error) {
	var (
		sum     AuditSummary
		mu      sync.Mutex
		workers = newPool(concurrency)
		// the first error of an unchecked record
		firstErr error
	)
	defer workers.Close()
	var after int64
	for ctx.Err() == nil {
		recs, err := records.Records(ctx, after, 500)
		if err != nil {
			workers.Wait()
			return sum, fmt.Errorf("read records after id %d: %w", after, err)
		}
		if len(recs) == 0 {
			break
		}
		after = recs[len(recs)-1].ID
		for _, rec := range recs {
			workers.Go(func() {
				problem, lookErr, skipped := auditRecord(ctx, objects, trashBucket, rec)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case lookErr != nil && errors.Is(lookErr, ErrTransient):
					sum.Unchecked++
					if firstErr == nil {
						firstErr = fmt.Errorf("LMS row %d: %w", rec.LMSID, lookErr)
					}
				case lookErr != nil:
					// S3 answered, and refused (access denied, a key
					// it will not take): a problem to look into.
					sum.Checked++
					sum.Problems++
					report(rec, "cannot look at the object: "+lookErr.Error())
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
	workers.Wait()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if firstErr != nil {
		return sum, fmt.Errorf("could not look at the objects of %d records, so the audit is incomplete (first: %w)", sum.Unchecked, firstErr)
	}
	return sum, nil
}

// auditRecord returns what is wrong with rec's object ("" when nothing), or
// the error that kept it from looking.
func auditRecord(ctx context.Context, objects ObjectStore, trashBucket string, rec Record) (problem string, lookErr error, skipped bool) {
	switch rec.State {
	case StateMissing, StateExpired:
		return "", nil, true
	case StateRestored:
		// The restored object where it was put. Its bytes may have changed
		// since (the file is the LMS's again); it must exist.
		key := cmp.Or(rec.RestoredKey, rec.Source.Key)
		_, err := objects.Head(ctx, rec.Source.Bucket, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return fmt.Sprintf("restored: s3://%s/%s, where the restore put the object, does not exist", rec.Source.Bucket, key), nil, false
		case err != nil:
			return "", fmt.Errorf("look at s3://%s/%s: %w", rec.Source.Bucket, key, err), false
		}
		return "", nil, false
	}
	// A trash copy must hold what was recorded of the copy itself (its own
	// size and ETag or checksum; the source's for a copy not yet
	// verified); a source only has to exist (the user may have replaced
	// the file before it was moved).
	identity, trashKey := rec.Source, rec.TrashKey
	if rec.Copy.ETag != "" {
		identity, trashKey = rec.Copy, cmp.Or(rec.Copy.Key, rec.TrashKey)
	}
	look := func(bucket, key string, verify bool) (found bool, problem string, err error) {
		if key == "" {
			return false, "", nil
		}
		obj, err := objects.Head(ctx, bucket, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return false, "", nil
		case err != nil:
			return false, "", fmt.Errorf("look at s3://%s/%s: %w", bucket, key, err)
		case verify && identity.ETag != "" && verifyCopy(identity, obj) != nil:
			return false, fmt.Sprintf("s3://%s/%s differs from what was recorded: %v", bucket, key, verifyCopy(identity, obj)), nil
		}
		return true, "", nil
	}
	if rec.Copy.Bucket != "" {
		trashBucket = rec.Copy.Bucket // where the copy was made
	}
	inTrash, trashProblem, trashErr := look(trashBucket, trashKey, true)
	if inTrash {
		return "", nil, false
	}
	// A source is deleted only once its copy is verified: from in_trash on,
	// the trash copy is the object.
	if !slices.Contains(InTrashStates(), rec.State) && rec.State != StateOrphaned {
		inSource, _, srcErr := look(rec.Source.Bucket, rec.Source.Key, false)
		if inSource {
			return "", nil, false
		}
		if srcErr != nil {
			return "", srcErr, false
		}
	}
	if trashErr != nil {
		return "", trashErr, false
	}
	if trashProblem != "" {
		return trashProblem, nil, false
	}
	return fmt.Sprintf("%s: neither s3://%s/%s nor s3://%s/%s holds the object", rec.State,
		rec.Source.Bucket, rec.Source.Key, trashBucket, trashKey), nil, false
}
