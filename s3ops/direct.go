package s3ops

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// Direct requests. Most of the CPU a move costs trashd is not in the
// request on the wire but in the SDK's middleware stack around it: some
// thirty steps per call (retries, endpoint rules, checksums, user agent,
// tracing, logging), each allocating as it goes. HeadObject and a
// single-request CopyObject are the two calls every moved object makes, so
// the Client sends those itself when it can: the request the SDK would
// build for the fields set, to the endpoint the SDK's own resolver names,
// signed by the SDK's own SigV4 signer, over the SDK's own HTTP client.
//
// Only a success is taken from a direct request. Anything else (an error
// status, a transport error, a 200 whose body is no CopyObjectResult, a
// redirect) is not interpreted here: the same call is made again through
// the SDK, whose retries and error mapping then apply as they always did. A
// direct request answered 4xx where the SDK's then succeeds was wrong for
// this server, and the Client stops sending them.
//
// The SDK is always used for what the direct path does not reproduce: a
// request whose context carries a send guard or a send-by time (deletes:
// sendguard.go), any input field outside the few trashd sets (SSE-C keys,
// metadata replacement, …), an endpoint that is not signed with plain
// SigV4 (S3 Express, multi-region access points), and clients configured
// with anything that changes requests behind the SDK's options.

// directUserAgent marks direct requests in server logs.
const directUserAgent = " trashd/direct"

// direct sends HeadObject and CopyObject requests without the SDK's
// middleware stack. A nil *direct sends nothing.
type direct struct {
	http     aws.HTTPClient
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	resolver s3.EndpointResolverV2
	params   s3.EndpointParameters // the client's; bucket and key are each request's
	region   string
	// The SDK's User-Agent for each operation, with directUserAgent.
	headAgent, copyAgent string

	log     *slog.Logger
	off     atomic.Bool
	offOnce sync.Once
}

// newDirect returns the direct path for client, or nil when client is
// configured with something the direct path would not reproduce.
func newDirect(ctx context.Context, client *s3.Client, o Options) *direct {
	so := client.Options()
	switch {
	case so.EndpointResolverV2 == nil, so.HTTPClient == nil, so.Credentials == nil:
		return nil
	case so.EndpointResolver != nil:
		// A resolver of the SDK's older kind: requests then take
		// another way through the stack, with hosts rewritten after it.
		return nil
	case so.EndpointOptions.DisableHTTPS, so.ClientLogMode != 0:
		// The SDK would rewrite the scheme, or log each request.
		return nil
	}
	if _, anonymous := so.Credentials.(aws.AnonymousCredentials); anonymous {
		return nil
	}
	d := &direct{
		http:     so.HTTPClient,
		creds:    so.Credentials,
		resolver: so.EndpointResolverV2,
		region:   so.Region,
		// As the SDK's: S3 signs the path as it is sent, escaped once.
		signer: v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true }),
		params: s3.EndpointParameters{
			Region:                         aws.String(so.Region),
			UseFIPS:                        aws.Bool(so.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			UseDualStack:                   aws.Bool(so.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
			Endpoint:                       so.BaseEndpoint,
			ForcePathStyle:                 aws.Bool(so.UsePathStyle),
			Accelerate:                     aws.Bool(so.UseAccelerate),
			DisableMultiRegionAccessPoints: aws.Bool(so.DisableMultiRegionAccessPoints),
			UseArnRegion:                   aws.Bool(so.UseARNRegion),
			DisableS3ExpressSessionAuth:    so.DisableS3ExpressSessionAuth,
		},
		log: o.Logger,
	}
	d.headAgent = sdkUserAgent(func(f func(*s3.Options)) error {
		_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}, f)
		return err
	})
	d.copyAgent = sdkUserAgent(func(f func(*s3.Options)) error {
		_, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), CopySource: aws.String("b/s")}, f)
		return err
	})
	if d.headAgent == "" || d.copyAgent == "" {
		return nil
	}
	d.headAgent += directUserAgent
	d.copyAgent += directUserAgent
	return d
}

// usable reports whether a request with ctx may go direct.
func (d *direct) usable(ctx context.Context) bool {
	if d == nil || d.off.Load() {
		return false
	}
	// A guarded request is checked inside the SDK's stack, at the last
	// moments before it is written (sendguard.go); it stays there.
	if reconcile.SendGuard(ctx) != nil {
		return false
	}
	_, by := reconcile.SendBy(ctx)
	return !by
}

// turnOff stops direct requests for good, saying why once.
func (d *direct) turnOff(op string, status int) {
	d.off.Store(true)
	d.offOnce.Do(func() {
		d.log.Warn("s3: direct requests turned off: the server refused one that the SDK then sent with success; every request now goes through the SDK",
			"op", op, "status", status)
	})
}

// headObject is s3.Client.HeadObject, sent direct when it can be.
func (c *Client) headObject(ctx context.Context, in *s3.HeadObjectInput) (*s3.HeadObjectOutput, error) {
	return viaDirect(c, ctx, "HeadObject", in, headDirectable, c.direct.head, c.s3.HeadObject)
}

// copyObject is s3.Client.CopyObject, sent direct when it can be. It is
// for a copy in one request; the requests of a multipart copy go through
// the SDK.
func (c *Client) copyObject(ctx context.Context, in *s3.CopyObjectInput) (*s3.CopyObjectOutput, error) {
	return viaDirect(c, ctx, "CopyObject", in, copyDirectable, c.direct.copy, c.s3.CopyObject)
}

// errNotDirect is a direct request's failure that says nothing of the
// server: the request was not sent.
var errNotDirect = errors.New("not sent direct")

// viaDirect sends in direct when it can and takes the answer if it is a
// success; otherwise it makes the same call through the SDK.
func viaDirect[In, Out any](c *Client, ctx context.Context, op string, in In,
	directable func(In) bool,
	send func(context.Context, In) (Out, int, error),
	sdk func(context.Context, In, ...func(*s3.Options)) (Out, error)) (Out, error) {
	if !c.direct.usable(ctx) || !directable(in) {
		return sdk(ctx, in)
	}
	start := time.Now()
	out, status, err := send(ctx, in)
	if err == nil {
		if c.opts.Observe != nil {
			c.opts.Observe(op, nil, time.Since(start))
		}
		return out, nil
	}
	// The operation, as the caller sees it, began with the direct request.
	out, sdkErr := sdk(withStart(ctx, start), in)
	if sdkErr == nil && status >= 400 && status < 500 {
		c.direct.turnOff(op, status)
	}
	return out, sdkErr
}

type startKey struct{}

// withStart marks ctx with the time its operation began, for Observe.
func withStart(ctx context.Context, start time.Time) context.Context {
	return context.WithValue(ctx, startKey{}, start)
}

// startOf is the time withStart marked on ctx, or now.
func startOf(ctx context.Context) time.Time {
	if start, ok := ctx.Value(startKey{}).(time.Time); ok {
		return start
	}
	return time.Now()
}

// isRedirected reports whether resp answers a request the HTTP client
// made by following a redirect (the SDK's follows 307 and 308).
func isRedirected(resp *http.Response) bool {
	return resp.Request != nil && resp.Request.Response != nil
}
