package reconcile

import (
	"context"
	"time"
)

// Every safety rule of a move rests on a conditional request, and servers
// that call themselves S3 do not all honour them (moto ignores If-None-Match
// on copies and the per-object ETag of DeleteObjects; versitygw ignores the
// latter; MinIO ignored If-Match on DeleteObject until 2026; AWS refused a
// conditional DeleteObjects as MalformedXML until 2025). So trashd relies on
// none of them unproven: each is probed, per bucket, with an object of its
// own, and a bucket where one is not honoured takes a documented fallback,
// or trashd refuses and says why.

// Condition is one conditional request that a rule relies on.
type Condition string

const (
	// CondCopyIfNoneMatch: If-None-Match: * on CopyObject's destination
	// refuses (412) a copy over an existing object. A trash copy, and a
	// file the LMS put at a key a restore copies back to, are never
	// overwritten.
	CondCopyIfNoneMatch Condition = "copy_if_none_match"
	// CondCompleteIfNoneMatch: If-None-Match: * on CompleteMultipartUpload,
	// the same for a copy in parts.
	CondCompleteIfNoneMatch Condition = "complete_if_none_match"
	// CondCopySourceIfMatch: x-amz-copy-source-if-match refuses a copy of
	// a source whose ETag changed since it was read.
	CondCopySourceIfMatch Condition = "copy_source_if_match"
	// CondDeleteIfMatch: If-Match on DeleteObject refuses to delete an
	// object whose ETag changed since it was copied.
	CondDeleteIfMatch Condition = "delete_if_match"
	// CondBatchDeleteETag: the per-object <ETag> of DeleteObjects, the same
	// for one object of a batched delete.
	CondBatchDeleteETag Condition = "batch_delete_etag"
)

// Conditions lists every condition probed, in the order reports show them.
func Conditions() []Condition {
	return []Condition{CondCopyIfNoneMatch, CondCompleteIfNoneMatch, CondCopySourceIfMatch, CondDeleteIfMatch, CondBatchDeleteETag}
}

// Answer is what a probe found of one condition on one bucket.
type Answer string

const (
	// Honoured: the server refused the request as the condition says (412,
	// or a per-object PreconditionFailed in a DeleteObjects answer) and the
	// probe's object was still there, unchanged, afterwards.
	Honoured Answer = "honoured"
	// NotHonoured: the server did what the condition forbids (a 200 that
	// deleted or overwrote), or refused the condition itself
	// (NotImplemented, 501, MalformedXML).
	NotHonoured Answer = "not_honoured"
	// Unknown: the probe could not run (permissions, an error): treated
	// as not honoured.
	Unknown Answer = "unknown"
)

// Capabilities is what the probe found on one bucket.
type Capabilities struct {
	Bucket   string
	ProbedAt time.Time
	// Versioned: the bucket keeps versions (the probe's object got a
	// version id), so a delete can name exactly the version copied,
	// which needs no condition.
	Versioned bool
	Answers   map[Condition]Answer
	// Why says, per condition, what the server did: "412", "deleted against
	// the condition", "MalformedXML", "AccessDenied: ...".
	Why map[Condition]string
}

// Honours reports whether the probe proved that the bucket honours cond.
func (c Capabilities) Honours(cond Condition) bool { return c.Answers[cond] == Honoured }

// ConditionProber probes a bucket's conditions.
type ConditionProber interface {
	// ProbeConditions probes every condition of Conditions on bucket, with
	// objects of its own under ProbePrefix (put, a request the condition
	// must refuse, a look whether the object is still there as it was,
	// delete), and removes what an earlier probe killed midway left there.
	// An error only when nothing could be probed at all; a condition the
	// probe could not try is Unknown, with the reason in Why.
	ProbeConditions(ctx context.Context, bucket string) (Capabilities, error)
}

// ProbePrefix is where probes put their objects, in any bucket trashd
// writes to or deletes from. No trash key starts with it (trash keys start
// with the record's id, a digit), and nothing but a probe reads it.
const ProbePrefix = ".trashd-probe/"

// CapabilitiesTTL is how long a bucket's answers are trusted: they are
// probed again at least once a day (a server upgraded or replaced behind
// its name), and at every start.
const CapabilitiesTTL = 24 * time.Hour
