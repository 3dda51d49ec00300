// Package s3ops is trashd's S3 adapter: it reads what HEAD says about an
// object, copies objects server-side into the trash bucket, deletes exactly
// the object that was copied, checks that the buckets it needs are
// reachable, keeps trashd's rule in the trash bucket's lifecycle
// configuration (merging it with the other rules, lifecycle.go) and asks S3
// to restore archived objects (restore.go), and probes which of the
// conditional requests a move relies on a bucket's server honours, with
// objects of its own (probe.go). It implements reconcile.ObjectStore,
// BucketChecker, LifecycleKeeper, Restorer, UploadAborter and
// ConditionProber.
//
// Every copy is chosen so that it can be proven equal to its source later by
// comparing the two HEADs: a single CopyObject where S3 keeps the source's
// MD5 ETag or full-object checksum, a multipart copy that mirrors a multipart
// source's part layout so that the composite ETag comes out the same, and a
// multipart copy in fixed-size parts only when a full-object CRC checksum will
// prove it (copy.go explains the choice).
//
// Errors come back wrapped around one of reconcile's sentinels (ErrNotFound,
// ErrPreconditionFailed, ErrArchived, ErrTransient, ErrPermanent; and
// ErrDestinationExists, an ErrPreconditionFailed, where a copy's 412 can only
// be about its destination) with the
// original SDK error still reachable through errors.As, and with a message
// that says what to fix (errors.go). The SDK's standard retryer runs first;
// ErrTransient is what is left after its attempts.
//
// A request whose context carries a send guard (reconcile.WithSendGuard)
// asks it after signing and again once the transport has a connection for
// it, and is not sent if the guard answers stale (sendguard.go).
//
// HeadObject and a single-request CopyObject, the two requests every moved
// object makes, are built, signed and read by the Client itself rather than
// by the SDK's middleware stack, which costs more CPU than the request
// (direct.go); any answer but a success is asked again through the SDK.
package s3ops
