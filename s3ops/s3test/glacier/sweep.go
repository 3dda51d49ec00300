package glacier

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Sweep runs every bucket's lifecycle rules once, now: it deletes the
// objects whose expiration is due and transitions, with an in-place
// CopyObject, those whose transition is due, as S3's daily lifecycle run
// would. It returns when every bucket is done; one sweep runs at a time.
func (s *Server) Sweep(ctx context.Context) error {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	s.mu.Lock()
	buckets := make(map[string]*bucketLifecycle, len(s.lifecycles))
	now := s.now()
	for bucket, lc := range s.lifecycles { // values are replaced on PUT, never changed
		if lc := lc.visible(now, s.cfg.LifecyclePropagation); lc != nil {
			buckets[bucket] = lc
		}
	}
	s.mu.Unlock()
	for bucket := range s.created {
		if buckets[bucket] == nil {
			delete(s.created, bucket)
		}
	}
	var errs []error
	for _, bucket := range slices.Sorted(maps.Keys(buckets)) {
		if err := s.sweepBucket(ctx, bucket, buckets[bucket]); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
	return errors.Join(append(errs, s.sweepInventories(ctx))...)
}

// birth is when the object now under a key was created. S3's lifecycle
// counts days from creation and its transitions keep LastModified; the
// layer's transition copies change LastModified, so it remembers the first
// one it saw, for as long as the object is the same one.
type birth struct {
	etag         string
	created      time.Time
	lastModified time.Time // the object's LastModified now, in whole seconds as listings give it
}

// bucketBirth is the births of a bucket's objects, by key.
type bucketBirth map[string]birth

// of returns o's birth: the one remembered if o is the object it was
// remembered for, else o's LastModified.
func (bb bucketBirth) of(o object) birth {
	lm := o.lastModified.Truncate(time.Second)
	if b, ok := bb[o.key]; ok && b.etag == o.etag && b.lastModified.Equal(lm) {
		return b
	}
	return birth{etag: o.etag, created: lm, lastModified: lm}
}

// object is one entry of a listing.
type object struct {
	key          string
	size         int64
	etag         string
	class        string // "STANDARD" when the listing gives none
	lastModified time.Time
}

// activeRule is an enabled rule the layer acts on, ready to match.
type activeRule struct {
	id          string
	p           predicates
	expireDays  *int64
	expireDate  *time.Time
	transitions []dueTransition
}

type dueTransition struct {
	class string
	days  *int64
	date  *time.Time
}

// activeRules are lc's enabled rules without tag filters (the layer does
// not read tags), with their current-version expirations and transitions.
func activeRules(lc *bucketLifecycle) []activeRule {
	var out []activeRule
	for i := range lc.config.Rules {
		r := &lc.config.Rules[i]
		p := r.predicates()
		if deref(r.Status) != "Enabled" || p.tags {
			continue
		}
		a := activeRule{id: deref(r.ID), p: p}
		if x := r.Expiration; x != nil {
			a.expireDays = x.Days
			if x.Date != nil {
				if t, err := parseDate(*x.Date); err == nil {
					a.expireDate = &t
				}
			}
		}
		for _, t := range r.Transitions {
			dt := dueTransition{class: deref(t.StorageClass), days: t.Days}
			if t.Date != nil {
				if d, err := parseDate(*t.Date); err == nil {
					dt.date = &d
				}
			}
			a.transitions = append(a.transitions, dt)
		}
		if a.expireDays != nil || a.expireDate != nil || len(a.transitions) > 0 {
			out = append(out, a)
		}
	}
	return out
}

func (p predicates) matches(o object) bool {
	return strings.HasPrefix(o.key, p.prefix) &&
		(p.larger == nil || o.size > *p.larger) &&
		(p.smaller == nil || o.size < *p.smaller)
}

// listPrefixes are the fewest prefixes whose listings hold every object
// the rules may act on.
func listPrefixes(rules []activeRule) []string {
	var all []string
	for _, r := range rules {
		all = append(all, r.p.prefix)
	}
	slices.Sort(all)
	var out []string
	for _, p := range all {
		if len(out) == 0 || !strings.HasPrefix(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) sweepBucket(ctx context.Context, bucket string, lc *bucketLifecycle) error {
	rules := activeRules(lc)
	births := s.created[bucket]
	next := bucketBirth{}
	now := s.now()
	var errs []error
	for _, prefix := range listPrefixes(rules) {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		pages := s3.NewListObjectsV2Paginator(s.client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if errorCode(err) == "NoSuchBucket" {
				// Deleted behind the layer's back: S3 drops its
				// configuration with it.
				s.forgetBucket(bucket)
				delete(s.created, bucket)
				return nil
			}
			if err != nil {
				// Keep what is known for the next sweep.
				for k, b := range births {
					if _, ok := next[k]; !ok {
						next[k] = b
					}
				}
				s.created[bucket] = next
				return errors.Join(append(errs, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err))...)
			}
			for _, c := range page.Contents {
				o := object{key: aws.ToString(c.Key), size: aws.ToInt64(c.Size), etag: trimETag(aws.ToString(c.ETag)),
					class: string(c.StorageClass), lastModified: aws.ToTime(c.LastModified)}
				if o.class == "" {
					o.class = "STANDARD"
				}
				b := births.of(o)
				b, kept, err := s.applyRules(ctx, bucket, o, b, rules, lc.minSize, now)
				if err != nil {
					errs = append(errs, err)
				}
				if kept {
					next[o.key] = b
				}
			}
		}
	}
	s.created[bucket] = next
	return errors.Join(errs...)
}

// applyRules expires or transitions o if a rule says it is due, and returns
// its birth afterwards and whether it still exists.
func (s *Server) applyRules(ctx context.Context, bucket string, o object, b birth, rules []activeRule, minSize string, now time.Time) (birth, bool, error) {
	for _, r := range rules {
		if !r.p.matches(o) {
			continue
		}
		if (r.expireDays != nil && !now.Before(s.after(b.created, *r.expireDays))) ||
			(r.expireDate != nil && !now.Before(*r.expireDate)) {
			return b, false, s.expire(ctx, bucket, o, r.id)
		}
	}
	// Of every transition due, S3 takes the one furthest down its
	// waterfall, and never moves an object back up.
	target, rule := "", ""
	for _, r := range rules {
		if !r.p.matches(o) {
			continue
		}
		for _, t := range r.transitions {
			if !s.mayTransition(r.p, t.class, o.size, minSize) {
				continue
			}
			due := (t.days != nil && !now.Before(s.after(b.created, *t.days))) || (t.date != nil && !now.Before(*t.date))
			if due && classRank(t.class) > classRank(target) {
				target, rule = t.class, r.id
			}
		}
	}
	if target == "" || classRank(target) <= classRank(o.class) {
		return b, true, nil
	}
	return s.transition(ctx, bucket, o, b, target, rule)
}

// mayTransition applies S3's default minimum size: without a size filter
// of its own, a rule does not move objects under 128 KB, except to the
// Glacier classes when the bucket's configuration says
// varies_by_storage_class.
func (s *Server) mayTransition(p predicates, class string, size int64, minSize string) bool {
	switch {
	case p.larger != nil || p.smaller != nil:
		return true // "custom filters always take precedence"
	case size >= s.cfg.MinTransitionSize:
		return true
	default:
		return minSize == minSizeByClass && archived(class)
	}
}

// transition moves o to class the way the layer can: CopyObject onto
// itself with the new storage class, keeping metadata and tags, only if o
// is still the object that was listed.
func (s *Server) transition(ctx context.Context, bucket string, o object, b birth, class, rule string) (birth, bool, error) {
	// The LastModified reads give back after the transition is the one a
	// HEAD gives now: SeaweedFS's listings and HEADs can differ by a
	// second at a second's edge.
	original := o.lastModified
	if h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key), IfMatch: aws.String(`"` + o.etag + `"`)}); err == nil && h.LastModified != nil {
		original = *h.LastModified
	}
	out, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            aws.String(bucket),
		Key:               aws.String(o.key),
		CopySource:        aws.String(copySource(bucket, o.key)),
		CopySourceIfMatch: aws.String(`"` + o.etag + `"`),
		StorageClass:      types.StorageClass(class),
		MetadataDirective: types.MetadataDirectiveCopy,
		TaggingDirective:  types.TaggingDirectiveCopy,
	})
	switch status := httpStatus(err); {
	case err == nil:
	case status == http.StatusPreconditionFailed || status == http.StatusNotFound:
		// Overwritten or deleted since the listing: the next sweep sees
		// the new object.
		return b, false, nil
	default:
		return b, true, fmt.Errorf("transition s3://%s/%s to %s: %w", bucket, o.key, class, err)
	}
	s.logger().Info("transitioned", "bucket", bucket, "key", o.key, "from", o.class, "to", class, "rule", rule)
	if r := out.CopyObjectResult; r != nil {
		if r.LastModified != nil {
			b.lastModified = r.LastModified.Truncate(time.Second)
		}
		if e := trimETag(aws.ToString(r.ETag)); e != "" {
			b.etag = e
		}
	}
	// Reads of the object show the LastModified it had, as S3's do.
	s.rememberTransition(objectVersion{bucket, o.key, normalVersion(aws.ToString(out.VersionId))}, b.etag, original, b.lastModified)
	return b, true, nil
}

func (s *Server) expire(ctx context.Context, bucket string, o object, rule string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key)}); err != nil {
		return fmt.Errorf("expire s3://%s/%s: %w", bucket, o.key, err)
	}
	s.forgetRestore(objectVersion{bucket, o.key, ""})
	s.logger().Info("expired", "bucket", bucket, "key", o.key, "class", o.class, "rule", rule)
	return nil
}

// copySource is the x-amz-copy-source value for bucket/key: every byte
// outside RFC 3986's unreserved set and "/" percent-encoded, since S3 reads
// the header as a URL path.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for _, c := range []byte(bucket + "/" + key) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}
