package reconcile

import (
	"context"
	"errors"
	"time"
)

// The fast path's needs (fastmove.go): the same steps as a move of one
// object, asked for many objects at once. db.Store and s3ops.Client
// implement them; a Store or S3 without them moves every object one by one.

// CopyReport is what the response to a single CopyObject says of the copy
// it made: no request reads the copy back.
type CopyReport struct {
	ETag     string   // the copy's ETag, unquoted
	Checksum Checksum // the checksum S3 computed over the copy, when one was asked for
	// VersionID is the copy's version, on a versioned trash bucket.
	VersionID string
	// SourceVersionID is the version that was copied
	// (x-amz-copy-source-version-id), on a versioned source bucket.
	SourceVersionID string
}

// OneRequestCopier copies an object in one request and reports what the
// response says.
type OneRequestCopier interface {
	// CopyOnce copies src to dstBucket/dstKey in one CopyObject, on
	// condition of src's ETag (and version), with opts as Copy takes them,
	// and asks S3 to compute src's checksum algorithm over the copy.
	// ErrNeedsParts when src is one that Copy would copy in parts.
	CopyOnce(ctx context.Context, src Object, dstBucket, dstKey string, opts CopyOptions) (CopyReport, error)
}

// BatchDeleter deletes many objects of one bucket per request.
type BatchDeleter interface {
	// DeleteBatch deletes exactly objs, all in bucket, as Delete deletes
	// each: a version by its VersionID, else on condition of its ETag. It
	// returns one error per object, in order: nil when the object is
	// deleted or was already gone, ErrPreconditionFailed when its condition
	// did not hold, ErrNotFound when a conditional delete found no object,
	// ErrBatchFailed for every object of a request that failed as a whole.
	// Each request is sent once (no SDK retry): the caller's fence is
	// fresh for one sending only.
	DeleteBatch(ctx context.Context, bucket string, objs []Object) []error
	// BatchConditions reports whether the server honours the per-object
	// ETag of a batched delete, probed once in bucket (the trash bucket)
	// with an object of its own. Without it, unversioned sources are
	// deleted one by one with If-Match.
	BatchConditions(ctx context.Context, bucket string) (bool, error)
}

// ObjectRef names an object.
type ObjectRef struct{ Bucket, Key string }

// BatchSharing answers Sharing's questions for many objects in one query
// each.
type BatchSharing interface {
	// LiveRows returns, for each object that an untrashed LMS row names, the
	// smallest such row's id: LiveRow for many objects.
	LiveRows(ctx context.Context, objs []ObjectRef) (map[ObjectRef]int64, error)
	// EarlierMoves returns, for each record id of recs that has one, the LMS
	// row of another record of the same object with a lower id that is
	// still to be moved: EarlierMove for many records.
	EarlierMoves(ctx context.Context, recs []Record) (map[int64]int64, error)
	// MovedSince returns the ids of recs whose object another record's
	// verified copy holds, its source deleted since the record was
	// discovered: the records for which CopyOf finds a copy MovedAfter.
	MovedSince(ctx context.Context, recs []Record) (map[int64]bool, error)
}

// BatchRecorder writes many records' steps in few statements.
type BatchRecorder interface {
	// RecordBatch applies steps[i] to recs[i], each fenced by its own lease
	// token, as Record does one by one, and returns one error per record:
	// ErrLeaseLost for a record whose lease is no longer held.
	RecordBatch(ctx context.Context, recs []Record, steps []Step) []error
	// RenewLeases extends the leases of recs by d, as RenewLease does each;
	// one error per record.
	RenewLeases(ctx context.Context, recs []Record, d time.Duration) []error
}

// ErrBatchFailed is DeleteBatch's error for every object of a request that
// failed as a whole (refused, unanswered, not implemented): it says
// nothing of any one object, which is then deleted on its own.
var ErrBatchFailed = errors.New("the batched delete failed as a whole")

// ErrNeedsParts is CopyOnce's refusal of a source that only a multipart
// copy can copy provably (copy.go in s3ops says which).
var ErrNeedsParts = errors.New("the source needs a multipart copy")
