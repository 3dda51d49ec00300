package reconcile

import (
	"context"
	"errors"
	"time"
)

// ErrStale marks a request that was not sent because the fence it relied on
// (or the LMS's answer that went with it) would have been too old by the
// time it left: a delete waits neither for a connection nor for a retry
// past its fence.
var ErrStale = errors.New("the fence went stale before the request was sent")

type sendGuardKey struct{}

// WithSendGuard returns ctx carrying check, which the S3 adapter calls as
// late as its SDK allows before a request goes on the wire (after signing,
// and again once a connection is had): a non-nil answer (wrapping ErrStale)
// stops the request unsent. The guarded delete puts it on every delete.
func WithSendGuard(ctx context.Context, check func() error) context.Context {
	return context.WithValue(ctx, sendGuardKey{}, check)
}

// SendGuard is the check WithSendGuard put on ctx, or nil.
func SendGuard(ctx context.Context) func() error {
	check, _ := ctx.Value(sendGuardKey{}).(func() error)
	return check
}

type sendByKey struct{}

// WithSendBy returns ctx carrying the time by which a request must have
// been written whole to its connection: the S3 adapter stops one that is
// not (waiting for a connection, or held on the way) with ErrStale. Once
// written, the request's answer may take longer: the delete is out, and
// cutting off the wait for its answer would only make it look failed.
func WithSendBy(ctx context.Context, by time.Time) context.Context {
	return context.WithValue(ctx, sendByKey{}, by)
}

// SendBy is the time WithSendBy put on ctx, if any.
func SendBy(ctx context.Context) (time.Time, bool) {
	by, ok := ctx.Value(sendByKey{}).(time.Time)
	return by, ok
}
