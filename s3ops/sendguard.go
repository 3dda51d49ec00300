package s3ops

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go/middleware"

	"trashd/reconcile"
)

// guardSends is an API option that asks the send guard a request's context
// carries (reconcile.WithSendGuard) whether the request may still go, at the
// two last moments the SDK and net/http leave to a caller:
//
//   - at the end of the Finalize step, once per attempt: after the retryer's
//     backoff, credential resolution and signing, and after every other
//     Finalize middleware, since it is added last and API options are
//     applied after the operation's own middlewares;
//   - when the transport has a connection for the request (httptrace's
//     GotConn), so that the time spent waiting for a pooled connection, a
//     dial or a TLS handshake is behind the check too.
//
// A stale answer stops the request unsent and comes back as the error of the
// request, wrapping reconcile.ErrStale.
func guardSends(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("trashd.sendGuard", sendGuarded), middleware.After)
}

func sendGuarded(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	check := reconcile.SendGuard(ctx)
	if check == nil {
		return next.HandleFinalize(ctx, in)
	}
	if err := askGuard(check); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	// The attempt's context ends when the attempt does: a guarded request
	// must be one whose answer the SDK reads whole (deletes are), not a
	// streamed body read after the call returns.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		stale error
	)
	var written atomic.Bool
	if by, ok := reconcile.SendBy(ctx); ok {
		// Not written whole by then (a connection waited for, a request
		// held on the way): stopped, as stale.
		timer := time.AfterFunc(time.Until(by), func() {
			if written.Load() {
				return
			}
			err := fmt.Errorf("%w: the request was not sent by its deadline", reconcile.ErrStale)
			mu.Lock()
			stale = err
			mu.Unlock()
			cancel(err)
		})
		defer timer.Stop()
	}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { written.Store(true) },
		GotConn: func(info httptrace.GotConnInfo) {
			err := askGuard(check)
			if err == nil {
				return
			}
			mu.Lock()
			stale = err
			mu.Unlock()
			cancel(err)
			// Cancelling is not enough on HTTP/1: net/http hands the
			// request to the connection's writer right after GotConn and
			// only then looks at the context, so the request could still
			// go out. Closing the connection, which this request alone
			// holds, makes that write fail with nothing sent. An HTTP/2
			// connection is shared with other requests and must stay
			// open; HTTP/2 looks at the context before it writes the
			// request's headers.
			if !sharedConn(info) {
				_ = info.Conn.Close()
			}
		},
	})
	out, md, err := next.HandleFinalize(ctx, in)
	mu.Lock()
	defer mu.Unlock()
	if stale != nil {
		// Whatever the transport made of the closed connection or the
		// cancelled context, the request was stopped by the guard.
		return out, md, stale
	}
	return out, md, err
}

// askGuard calls check and makes sure a refusal says ErrStale, whatever the
// guard wrote.
func askGuard(check func() error) error {
	err := check()
	if err == nil || errors.Is(err, reconcile.ErrStale) {
		return err
	}
	return fmt.Errorf("%w: %w", reconcile.ErrStale, err)
}

// sharedConn reports whether the connection is HTTP/2, where many requests
// share one connection.
func sharedConn(info httptrace.GotConnInfo) bool {
	tc, ok := info.Conn.(interface{ ConnectionState() tls.ConnectionState })
	return ok && tc.ConnectionState().NegotiatedProtocol == "h2"
}
