package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// RecordLister walks trashd's records in id order, for the audit.
type RecordLister interface {
	// Records returns up to limit records with id > after, in id order.
	Records(ctx context.Context, after int64, limit int) ([]Record, error)
}

// GoneRecorder records trash copies found gone for good.
type GoneRecorder interface {
	// MarkGone records rec, in_trash or archived, in state (removed) with
	// the reason; false when it had left those states meanwhile.
	MarkGone(ctx context.Context, rec Record, state State, reason string) (bool, error)
	// MarkExpired records rec expired if its copy was made at least age
	// ago; false when it was not, or had left in_trash and archived.
	MarkExpired(ctx context.Context, rec Record, age time.Duration, reason string) (bool, error)
}

// AuditOption adjusts an audit.
type AuditOption func(*auditOptions)

type auditOptions struct {
	gone       GoneRecorder
	expiration time.Duration
}

// RecordGone has the audit record what it finds of a record in in_trash or
// archived whose trash copy is gone for good (no object at the key, no
// version of it beneath a delete marker): expired when trashd's rule
// expires copies after expiration (0: never) and the copy is that old,
// else removed, since something that is not trashd's rule removed it. The
// record must not go on saying the file is in the trash. Nothing else is
// changed.
func RecordGone(store GoneRecorder, expiration time.Duration) AuditOption {
	return func(o *auditOptions) { o.gone, o.expiration = store, expiration }
}

// AuditResult is what the audit concluded of one record's object.
type AuditResult string

const (
	// AuditOK: the object is where the record says, and it is what was
	// recorded (its size and ETag or checksum).
	AuditOK AuditResult = "ok"
	// AuditProblem: the object is not where the record says, or other
	// bytes are there.
	AuditProblem AuditResult = "problem"
	// AuditUnverifiable: an object is where the record says, but nothing
	// was recorded of it to compare it with: it may be the file or not.
	AuditUnverifiable AuditResult = "unverifiable"
	// auditSkipped: the record's outcome is a loss already recorded.
	auditSkipped AuditResult = "skipped"
)

// AuditSummary counts what an audit looked at and what it found wrong.
type AuditSummary struct {
	Checked      int // records found intact, or found wrong (Problems)
	Skipped      int // records whose outcome is already recorded as a loss (missing, expired, removed)
	Problems     int
	Unverifiable int // records whose object exists with nothing recorded to compare it with
	Unchecked    int // records whose objects S3 did not answer for (neither found nor absent)
}

// Audit checks the invariant against S3 itself: for every record, the
// object exists intact (the recorded size and ETag or checksum; on a
// versioned source, the recorded version) in the source bucket or at its
// trash key, never in neither, and a restored object is still the file the
// restore put back. Each problem, and each record whose object exists but
// could not be compared with anything recorded (unverifiable), is passed to
// report, with the record; Audit changes nothing. A record whose
// object S3 did not answer for (a transient error: an outage, timeouts) is
// not a problem found but a check not made: it is counted Unchecked, and
// Audit returns an error naming the first such failure. A refusal (access
// denied, a key the server will not take) is a problem.
//
// With RecordGone, a trash copy found gone for good is recorded (and still
// reported, as a problem when it was not trashd's rule that removed it).
func Audit(ctx context.Context, records RecordLister, objects ObjectStore, trashBucket string, concurrency int,
	report func(rec Record, result AuditResult, detail string), opts ...AuditOption) (AuditSummary, error) {
	var o auditOptions
	for _, opt := range opts {
		opt(&o)
	}
	var (
		tally   = &auditTally{report: report}
		workers = newPool(concurrency)
	)
	defer workers.Close()
	var after int64
	for ctx.Err() == nil {
		recs, err := records.Records(ctx, after, 500)
		if err != nil {
			workers.Wait()
			return tally.sum, fmt.Errorf("read records after id %d: %w", after, err)
		}
		if len(recs) == 0 {
			break
		}
		after = recs[len(recs)-1].ID
		for _, rec := range recs {
			workers.Go(func() {
				v, lookErr := auditRecord(ctx, objects, trashBucket, rec)
				if lookErr == nil && v.gone {
					v, lookErr = o.recordGone(ctx, objects, rec, v)
				}
				tally.add(rec, v, lookErr)
			})
		}
	}
	workers.Wait()
	return tally.result(ctx)
}

// auditTally counts what an audit's looks found and reports each finding;
// safe for concurrent use.
type auditTally struct {
	mu     sync.Mutex
	sum    AuditSummary
	report func(rec Record, result AuditResult, detail string)
	// the first error of an unchecked record
	firstErr error
}

// add counts what looking at rec's object found, or the error that kept it
// from looking.
func (t *auditTally) add(rec Record, v verdict, lookErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case lookErr != nil && errors.Is(lookErr, ErrTransient):
		t.sum.Unchecked++
		if t.firstErr == nil {
			t.firstErr = fmt.Errorf("LMS row %d: %w", rec.LMSID, lookErr)
		}
	case lookErr != nil:
		// S3 answered, and refused (access denied, a key it will not
		// take): a problem to look into.
		t.sum.Checked++
		t.sum.Problems++
		t.report(rec, AuditProblem, "cannot look at the object: "+lookErr.Error())
	case v.result == auditSkipped:
		t.sum.Skipped++
	case v.result == AuditProblem:
		t.sum.Checked++
		t.sum.Problems++
		t.report(rec, AuditProblem, v.detail)
	case v.result == AuditUnverifiable:
		t.sum.Unverifiable++
		t.report(rec, AuditUnverifiable, v.detail)
	default:
		t.sum.Checked++
	}
}

// result is the audit's summary, and its error: the context's, or one
// naming the first record whose object S3 did not answer for.
func (t *auditTally) result(ctx context.Context) (AuditSummary, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return t.sum, err
	}
	if t.firstErr != nil {
		return t.sum, fmt.Errorf("could not look at the objects of %d records, so the audit is incomplete (first: %w)", t.sum.Unchecked, t.firstErr)
	}
	return t.sum, nil
}

// verdict is what the audit concluded of one record, and why.
type verdict struct {
	result AuditResult
	detail string
	// gone: the record is in_trash or archived and nothing is at its
	// trash key.
	gone bool
	key  string // the trash key looked at
	// bucket is the trash bucket looked in.
	bucket string
}

// recordGone records rec, whose trash copy the audit found gone, when the
// audit records such copies and no version of the key still holds it: the
// verdict becomes what was recorded. A listing of the key's versions that
// was refused or failed leaves the record as it is, and is the error.
func (o auditOptions) recordGone(ctx context.Context, objects ObjectStore, rec Record, v verdict) (verdict, error) {
	if o.gone == nil {
		return v, nil
	}
	if vl, ok := objects.(VersionLister); ok {
		look := rec
		look.TrashKey = v.key
		hidden, err := hiddenCopy(ctx, vl, v.bucket, look)
		switch {
		case err != nil:
			// Not known whether a delete marker hides it: the record
			// is left as it is.
			return verdict{}, fmt.Errorf("the trash copy s3://%s/%s is gone, and its key's versions could not be listed (s3:ListBucketVersions on the trash bucket), "+
				"so whether a delete marker hides it is not known: the record is left %s: %w", v.bucket, v.key, rec.State, err)
		case hidden != "":
			v.detail += fmt.Sprintf("; version %s of the key still holds it, beneath a delete marker: delete the marker to bring it back", hidden)
			return v, nil
		}
	}
	if o.expiration > 0 {
		ok, err := o.gone.MarkExpired(ctx, rec, o.expiration, "removed by the lifecycle rule's expiration (found by the audit)")
		if err != nil {
			return verdict{}, err
		}
		if ok {
			return verdict{result: auditSkipped}, nil
		}
	}
	reason := fmt.Sprintf("the trash copy s3://%s/%s was found gone by the audit: removed by something that is not trashd's lifecycle rule "+
		"(another rule, or someone's delete); the file cannot be restored", v.bucket, v.key)
	ok, err := o.gone.MarkGone(ctx, rec, StateRemoved, reason)
	if err != nil {
		return verdict{}, err
	}
	if ok {
		v.detail += "; recorded " + string(StateRemoved) + ": the file cannot be restored"
	}
	return v, nil
}

// sighting is what one look found at a place the record's object may be.
type sighting struct {
	intact  bool   // what was recorded is there
	unknown bool   // an object is there, with nothing recorded to compare it with
	detail  string // why it is not intact: other bytes, nothing recorded, a version gone
}

// auditRecord says what is true of rec's object, or returns the error that
// kept it from looking.
func auditRecord(ctx context.Context, objects ObjectStore, trashBucket string, rec Record) (verdict, error) {
	switch rec.State {
	case StateMissing, StateExpired, StateRemoved:
		return verdict{result: auditSkipped}, nil
	case StateRestored:
		return auditRestored(ctx, objects, rec)
	}
	// A trash copy must hold what was recorded of the copy itself (its own
	// size and ETag or checksum; the source's for a copy not yet verified).
	identity, trashKey := recordedIdentity(rec), rec.TrashKey
	if rec.Copy.ETag != "" {
		trashKey = cmp.Or(rec.Copy.Key, rec.TrashKey)
	}
	if rec.Copy.Bucket != "" {
		trashBucket = rec.Copy.Bucket // where the copy was made
	}
	trash, trashErr := lookAtCopy(ctx, objects, trashBucket, trashKey, identity)
	if trashErr == nil && trash.intact {
		return verdict{result: AuditOK}, nil
	}
	seen := []sighting{trash}
	// A source is deleted only once its copy is verified: from in_trash on,
	// the trash copy is the object.
	if !slices.Contains(InTrashStates(), rec.State) && rec.State != StateOrphaned {
		src, err := lookAtSource(ctx, objects, rec)
		switch {
		case err != nil:
			return verdict{}, err
		case src.intact:
			return verdict{result: AuditOK}, nil
		}
		seen = append(seen, src)
	}
	if trashErr != nil {
		return verdict{}, trashErr
	}
	var details []string
	unknown := false
	for _, s := range seen {
		unknown = unknown || s.unknown
		if s.detail != "" {
			details = append(details, s.detail)
		}
	}
	if unknown {
		return verdict{result: AuditUnverifiable, detail: strings.Join(details, "; ")}, nil
	}
	problem := fmt.Sprintf("%s: neither s3://%s/%s nor s3://%s/%s holds the object", rec.State,
		rec.Source.Bucket, rec.Source.Key, trashBucket, trashKey)
	if len(details) > 0 {
		problem += " (" + strings.Join(details, "; ") + ")"
	}
	// Nothing at the trash key of a record whose source was deleted: the
	// copy was removed (a lifecycle rule, someone's delete).
	gone := slices.Contains(InTrashStates(), rec.State) && len(details) == 0 && trashKey != ""
	if gone {
		problem = fmt.Sprintf("%s: the trash copy s3://%s/%s is gone (removed by a lifecycle rule or by someone else; the source was deleted after the copy)",
			rec.State, trashBucket, trashKey)
	}
	return verdict{result: AuditProblem, detail: problem, gone: gone, key: trashKey, bucket: trashBucket}, nil
}

// recordedIdentity is what rec's object must match: the verified copy's own
// size and ETag or checksum, else the source as recorded (the restore
// checks its copies back against the same).
func recordedIdentity(rec Record) Object {
	if rec.Copy.ETag != "" {
		return rec.Copy
	}
	return rec.Source
}

// auditRestored checks that the object a restore put back is still the file
// it restored.
func auditRestored(ctx context.Context, objects ObjectStore, rec Record) (verdict, error) {
	bucket, key := rec.Source.Bucket, cmp.Or(rec.RestoredKey, rec.Source.Key)
	obj, err := objects.Head(ctx, bucket, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return verdict{result: AuditProblem, detail: fmt.Sprintf("restored: s3://%s/%s, where the restore put the object, does not exist", bucket, key)}, nil
	case err != nil:
		return verdict{}, fmt.Errorf("look at s3://%s/%s: %w", bucket, key, err)
	}
	identity := recordedIdentity(rec)
	if identity.ETag == "" {
		return verdict{result: AuditUnverifiable, detail: fmt.Sprintf("restored: s3://%s/%s exists, but nothing was recorded of the file to compare it with", bucket, key)}, nil
	}
	if err := verifyCopy(identity, obj); err != nil {
		return verdict{result: AuditProblem, detail: fmt.Sprintf("restored: s3://%s/%s holds other bytes than the file restored there (%v); "+
			"if the LMS has written the file since, that is its newer version", bucket, key, err)}, nil
	}
	return verdict{result: AuditOK}, nil
}

// lookAtCopy looks for the trash copy at bucket/key, to hold identity.
func lookAtCopy(ctx context.Context, objects ObjectStore, bucket, key string, identity Object) (sighting, error) {
	if key == "" {
		return sighting{}, nil
	}
	obj, err := objects.Head(ctx, bucket, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return sighting{}, nil
	case err != nil:
		return sighting{}, fmt.Errorf("look at s3://%s/%s: %w", bucket, key, err)
	case identity.ETag == "":
		return sighting{unknown: true, detail: fmt.Sprintf("s3://%s/%s exists, but nothing was recorded of the copy to compare it with", bucket, key)}, nil
	}
	if err := verifyCopy(identity, obj); err != nil {
		return sighting{detail: fmt.Sprintf("s3://%s/%s differs from what was recorded: %v", bucket, key, err)}, nil
	}
	return sighting{intact: true}, nil
}

// lookAtSource looks for the recorded source. On a versioned bucket that is
// the recorded version: once it is deleted, an older version is current
// again, and it is another file.
func lookAtSource(ctx context.Context, objects ObjectStore, rec Record) (sighting, error) {
	src := rec.Source
	where := fmt.Sprintf("s3://%s/%s", src.Bucket, src.Key)
	if src.VersionID != "" {
		obj, err := objects.HeadVersion(ctx, src.Bucket, src.Key, src.VersionID)
		switch {
		case errors.Is(err, ErrNotFound):
			return lookAtCurrent(ctx, objects, src)
		case err != nil:
			return sighting{}, fmt.Errorf("look at version %s of %s: %w", src.VersionID, where, err)
		case src.ETag != "" && !sameVersion(src, obj):
			return sighting{detail: fmt.Sprintf("version %s of %s is not what was recorded (ETag %q, %d bytes; recorded: ETag %q, %d bytes)",
				src.VersionID, where, obj.ETag, obj.Size, src.ETag, src.Size)}, nil
		}
		return sighting{intact: true}, nil
	}
	obj, err := objects.Head(ctx, src.Bucket, src.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return sighting{}, nil
	case err != nil:
		return sighting{}, fmt.Errorf("look at %s: %w", where, err)
	case rec.State == StatePending || rec.State == StateShared:
		// Not copied yet: the file at the key is the row's, whatever an
		// earlier attempt read of it; the next attempt reads it again.
		return sighting{intact: true}, nil
	case src.ETag == "":
		return sighting{unknown: true, detail: where + " exists, but nothing was recorded of the trashed file to compare it with"}, nil
	case byAnswer(src) && obj.ETag != src.ETag:
		return sighting{unknown: true, detail: fmt.Sprintf("%s holds an object with ETag %q, and the record's source identity is its copy's answer (ETag %q): "+
			"the same bytes under a multipart or encrypted source's own ETag, or another file; the move's next attempt tells them apart", where, obj.ETag, src.ETag)}, nil
	}
	if err := verifyCopy(src, obj); err != nil {
		return sighting{detail: fmt.Sprintf("%s holds other bytes than the trashed file: %v", where, err)}, nil
	}
	return sighting{intact: true}, nil
}

// lookAtCurrent is the source's sighting when its recorded version is gone:
// intact only if the key's current version holds the same bytes.
func lookAtCurrent(ctx context.Context, objects ObjectStore, src Object) (sighting, error) {
	gone := fmt.Sprintf("version %s of s3://%s/%s is gone", src.VersionID, src.Bucket, src.Key)
	cur, err := objects.Head(ctx, src.Bucket, src.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return sighting{detail: gone}, nil
	case err != nil:
		return sighting{}, fmt.Errorf("look at s3://%s/%s: %w", src.Bucket, src.Key, err)
	case src.ETag != "" && verifyCopy(src, cur) == nil:
		return sighting{intact: true}, nil
	}
	return sighting{detail: fmt.Sprintf("%s; the key's current version %s (ETag %q, %d bytes) is another file", gone, cur.VersionID, cur.ETag, cur.Size)}, nil
}
