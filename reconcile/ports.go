package reconcile

import (
	"context"
	"errors"
	"math"
	"time"
)

// The runner's needs, declared where they are used. db.Store and s3ops.Client
// implement them.

// Store is everything the runner needs from the database.
type Store interface {
	Discoverer
	Claimer
	Recorder
	RunLog
	Backlog
	Archiver
	RestoreRequests
	Sharing
	Census
}

// S3 is everything the runner needs from S3.
type S3 interface {
	ObjectStore
	ConditionProber
	BucketChecker
	LifecycleKeeper
	Restorer
	UploadAborter
	VersionLister
}

// BeforeFirstLMSID is where a scan of the LMS table starts: LMS ids may be
// 0 or negative, so the scan begins after the smallest int64 (a row whose
// id is that one is refused with the table, not passed over).
const BeforeFirstLMSID int64 = math.MinInt64

// Discoverer finds trashed LMS rows that trashd has no record of.
type Discoverer interface {
	// ScanTrashed returns up to limit trashed rows with LMS id > after and no
	// record, in id order (a keyset scan); BeforeFirstLMSID starts at the
	// first. It changes nothing.
	ScanTrashed(ctx context.Context, after int64, limit int) ([]TrashedRow, error)
	// RecordTrashed inserts a pending record for each row; rows that already
	// have one are left alone. It returns how many it inserted.
	RecordTrashed(ctx context.Context, rows []TrashedRow) (int, error)
	// Retrash starts over the records of rows trashed again after a restore;
	// CountRetrash counts them first.
	Retrash(ctx context.Context) (int, error)
	CountRetrash(ctx context.Context) (int, error)
}

// Claimer hands out records to work on, each under a lease.
type Claimer interface {
	// ClaimBatch leases up to limit movable records that are due and not
	// leased by anyone else, incrementing their attempts.
	ClaimBatch(ctx context.Context, owner string, limit int, lease time.Duration) ([]Record, error)
}

// Recorder writes records' steps, fenced by their leases.
type Recorder interface {
	// Record applies s to rec if rec's lease is still held; ErrLeaseLost if
	// not. It is RecordBatch of one.
	Record(ctx context.Context, rec Record, s Step) error
	// RecordBatch applies steps[i] to recs[i], each fenced by its own lease
	// token, in few statements, and returns one error per record:
	// ErrLeaseLost for a record whose lease is no longer held.
	RecordBatch(ctx context.Context, recs []Record, steps []Step) []error
	// RenewLeases extends the leases of recs by d from now; one error per
	// record, ErrLeaseLost for a lease no longer held.
	RenewLeases(ctx context.Context, recs []Record, d time.Duration) []error
}

// Backlog tells how much work is due.
type Backlog interface {
	// Pending counts the records a claim would take now, and their known bytes.
	Pending(ctx context.Context) (count int, bytes int64, err error)
}

// RunLog records passes (table trash_runs).
type RunLog interface {
	StartRun(ctx context.Context, trigger Trigger, host string) (int64, error)
	FinishRun(ctx context.Context, id int64, c Counts, status RunStatus, runErr error) error
	// HeartbeatRun stamps run id's heartbeat (by the database clock).
	HeartbeatRun(ctx context.Context, id int64) error
	// AbandonRuns records abandoned every run still running whose
	// heartbeat is older than lapse, and returns them.
	AbandonRuns(ctx context.Context, lapse time.Duration) ([]AbandonedRun, error)
}

// AbandonedRun is a run whose process stopped without recording its end.
type AbandonedRun struct {
	ID            int64
	Host          string
	Started, Beat time.Time // Beat: its last heartbeat
}

// ObjectStore is the S3 side of a move.
type ObjectStore interface {
	// Head describes an object; ErrNotFound when it does not exist.
	Head(ctx context.Context, bucket, key string) (Object, error)
	// HeadVersion describes exactly one version of an object (versionID ""
	// is the current one, as Head); ErrNotFound when that version does not
	// exist, whatever other versions the key has. A retry after a delete
	// asks it whether the version it deleted is gone, since the key's
	// current version may now be an older one.
	HeadVersion(ctx context.Context, bucket, key, versionID string) (Object, error)
	// Copy copies src server-side to dstBucket/dstKey, on condition that the
	// source still has src's ETag (and version), in parts when it is large.
	Copy(ctx context.Context, src Object, dstBucket, dstKey string, opts CopyOptions) error
	// CopyOnce copies src to dstBucket/dstKey in one CopyObject, on
	// condition of src's ETag (and version), with opts as Copy takes them,
	// asks S3 to compute src's checksum algorithm over the copy, and
	// returns what the response says of the copy. ErrNeedsParts when src
	// is one that Copy would copy in parts.
	CopyOnce(ctx context.Context, src Object, dstBucket, dstKey string, opts CopyOptions) (CopyReport, error)
	// CopyAsIs copies whatever src's key holds now (unread; on condition
	// of src.ETag when it is set) to dstBucket/dstKey in one CopyObject
	// that never overwrites (If-None-Match, which must be proven honoured),
	// asks S3 for a CRC32 of the copy, and returns what the response says
	// of it: the proof of the move of one request (blind.go).
	// ErrNeedsParts where the server does not refuse an overwrite by itself.
	CopyAsIs(ctx context.Context, src Object, dstBucket, dstKey string, opts CopyOptions) (CopyReport, error)
	// Delete deletes exactly obj: its version when obj has a VersionID (no
	// other condition: a version's bytes never change, and deleting a version
	// that is already gone succeeds), else on condition of its ETag where the
	// server supports that. Sent once (no SDK retry), and not at all when
	// the context's send guard (WithSendGuard) refuses: ErrStale.
	Delete(ctx context.Context, obj Object) error
	// DeleteBatch deletes exactly objs, all in bucket, as Delete deletes
	// each: a version by its VersionID, else on condition of its ETag. It
	// returns one error per object, in order: nil when the object is
	// deleted or was already gone, ErrPreconditionFailed when its condition
	// did not hold, ErrNotFound when a conditional delete found no object,
	// ErrBatchFailed for every object of a request that failed as a whole.
	// Each request is sent once, under the send guard, as Delete's.
	DeleteBatch(ctx context.Context, bucket string, objs []Object) []error
}

// CopyOptions adjust one copy.
type CopyOptions struct {
	// StorageClass of the copy; "" keeps the server's default (STANDARD).
	StorageClass string
	// NoOverwrite fails the copy with ErrPreconditionFailed when the
	// destination key exists (If-None-Match: *), so that a restore never
	// overwrites a file the LMS has put there since.
	NoOverwrite bool
	// NoOverwriteByHead: the destination's server does not prove that it
	// honours If-None-Match (on the copy, or on the completion of a copy
	// in parts): the destination is HEADed first (and again right before a
	// copy in parts completes), and the copy fails with ErrPreconditionFailed
	// when something is there. A weaker guard: a file written between the
	// HEAD and the copy is overwritten. The header is still sent.
	NoOverwriteByHead bool
	// IfMatch, when set, replaces only an object with this ETag at the
	// destination (If-Match on the copy, or on the completion of a copy in
	// parts): a restore over an older version never covers a file written
	// since it looked.
	IfMatch string
	// OnUpload, when set, is called with the upload ID of a multipart copy
	// as soon as the upload exists, before any part is copied, so that the
	// ID can be recorded and the upload aborted (UploadAborter) if the
	// process dies before it completes or aborts it itself. An error from
	// OnUpload aborts the upload and fails the copy with that error.
	OnUpload func(uploadID string) error
}

// UploadAborter removes what is left of a multipart upload.
type UploadAborter interface {
	// AbortUpload aborts the multipart upload uploadID of bucket/key, freeing
	// its parts. An upload that is already gone (completed, aborted, or
	// never there) is not an error.
	AbortUpload(ctx context.Context, bucket, key, uploadID string) error
}

// LifecycleKeeper reads and writes the trash bucket's lifecycle rule.
type LifecycleKeeper interface {
	// CheckLifecycle compares the bucket's configuration with want.
	CheckLifecycle(ctx context.Context, bucket string, want LifecycleRule) (LifecycleReport, error)
	// ApplyLifecycle merges want into the bucket's configuration (adding or
	// replacing the rule with want's ID, keeping every other rule as it is),
	// validates the result and writes it.
	ApplyLifecycle(ctx context.Context, bucket string, want LifecycleRule) (LifecycleReport, error)
}

// Restorer asks S3 to restore an archived object.
type Restorer interface {
	// Restore requests a temporary copy of obj for days, at tier (Expedited,
	// Standard, Bulk). A restore already in progress is not an error.
	Restore(ctx context.Context, obj Object, days int, tier string) error
}

// BucketChecker checks a bucket exists and the credentials reach it.
type BucketChecker interface {
	CheckBucket(ctx context.Context, bucket string) error
}

// VersionLister lists what a versioned key holds: a restore that copied
// over an older version looks at what lies beneath its copy.
type VersionLister interface {
	// KeyVersions returns up to limit of the versions and delete markers
	// of exactly bucket/key, newest first.
	KeyVersions(ctx context.Context, bucket, key string, limit int) ([]KeyVersion, error)
}

// KeyVersion is one version of a key, or a delete marker.
type KeyVersion struct {
	VersionID    string
	DeleteMarker bool
	Size         int64
	ETag         string // without the surrounding quotes
	LastModified time.Time
}

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
	// Encryption is the copy's server-side encryption
	// (x-amz-server-side-encryption): with aws:kms or aws:kms:dsse its ETag
	// is no MD5 of its bytes.
	Encryption string
}

// ObjectRef names an object.
type ObjectRef struct{ Bucket, Key string }

// ErrBatchFailed is DeleteBatch's error for every object of a request that
// failed as a whole (refused, unanswered, not implemented): it says
// nothing of any one object, which is then deleted on its own.
var ErrBatchFailed = errors.New("the batched delete failed as a whole")

// ErrNeedsParts is CopyOnce's refusal of a source that only a multipart
// copy can copy provably (copy.go in s3ops says which).
var ErrNeedsParts = errors.New("the source needs a multipart copy")
