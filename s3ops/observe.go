package s3ops

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go/middleware"

	"trashd/reconcile"
)

// observeOperations returns an API option that reports every S3 API call the
// client makes to observe: its operation name ("HeadObject", "CopyObject",
// "UploadPartCopy", …), its error (nil on success) and how long it took.
//
// The middleware sits first in the Initialize step, outside the retry loop
// (which lives in Finalize), so one report is one whole API operation as the
// caller sees it: every SDK retry attempt and the backoff between them
// included, and the final error only. That is what an operator reads latency
// and error rates from: a 503 that the retryer absorbed costs time here but
// is not an error, and an error here is one the runner had to deal with.
// Parameter validation and credential resolution are inside the measurement
// too, so a request that never left the host is still counted.
func observeOperations(observe func(op string, err error, d time.Duration)) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("trashd.observe",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				// After a direct request that was not taken, the
				// operation began with it (direct.go).
				start := startOf(ctx)
				out, md, err := next.HandleInitialize(ctx, in)
				observe(middleware.GetOperationName(ctx), err, time.Since(start))
				return out, md, err
			}), middleware.Before)
	}
}

// Error classes that ErrorClass returns, for metric labels: a small, fixed
// set, whatever the server answers.
const (
	ClassOK                 = "ok"
	ClassNotFound           = "not_found"
	ClassPreconditionFailed = "precondition_failed"
	ClassArchived           = "archived"
	ClassTransient          = "transient"
	ClassPermanent          = "permanent"
	ClassCanceled           = "canceled"
	ClassError              = "error"
)

// ErrorClass sorts an error from the SDK (as Options.Observe receives it) or
// from a Client method into one of the classes above, by the same rules that
// pick the reconcile sentinel for a Client's errors (errors.go):
//
//   - nil is ClassOK;
//   - the caller's own cancellation (shutdown), and a request its send
//     guard stopped unsent (reconcile.ErrStale), are ClassCanceled, not the
//     server's fault;
//   - otherwise the sentinel's class: not_found, precondition_failed,
//     archived, transient or permanent;
//   - ClassError only if classify ever picks a sentinel this function does
//     not know: a fallback that keeps the label set fixed.
func ErrorClass(err error) string {
	if err == nil {
		return ClassOK
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, reconcile.ErrStale) {
		return ClassCanceled
	}
	// A Client's error already carries its sentinel; a raw SDK error gets
	// the one mapError would give it.
	if c := sentinelClass(err); c != "" {
		return c
	}
	sentinel, _ := classify(call{}, err)
	return cmp.Or(sentinelClass(sentinel), ClassError)
}

func sentinelClass(err error) string {
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		return ClassNotFound
	case errors.Is(err, reconcile.ErrPreconditionFailed):
		return ClassPreconditionFailed
	case errors.Is(err, reconcile.ErrArchived):
		return ClassArchived
	case errors.Is(err, reconcile.ErrTransient):
		return ClassTransient
	case errors.Is(err, reconcile.ErrPermanent):
		return ClassPermanent
	}
	return ""
}
