package s3ops

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

// probeLeftoverAge is how old another run's probe objects must be before a
// probe removes them: a probe takes seconds, so older ones belong to a
// process killed midway, while younger ones may be another host's probe of
// the same bucket, still running.
const probeLeftoverAge = time.Hour

// probeCleanupTimeout bounds the removal, which runs even when the probe's
// own context has ended.
const probeCleanupTimeout = 30 * time.Second

// probeEntry is one object version found under the probe prefix.
type probeEntry struct {
	id       types.ObjectIdentifier
	modified time.Time
	size     int64 // -1 for a delete marker
}

// probeKey matches the keys a probe writes: its run's random name, then
// "a", "b" or "c". Under the prefix, nothing else is ever removed: an LMS
// file, or a trash copy whose template starts with {key}, may be there too.
var probeKey = regexp.MustCompile(`^` + regexp.QuoteMeta(reconcile.ProbePrefix) + `[0-9a-f]{16}/[abc]$`)

// probeSize is the size of every object a probe writes ("trashd probe a",
// or a copy of it).
const probeSize = int64(len("trashd probe a"))

// leftover reports whether e is what a probe killed midway left behind: a
// probe's key, and a probe's size (or a delete marker).
func (e probeEntry) leftover() bool {
	return probeKey.MatchString(aws.ToString(e.id.Key)) && (e.size == probeSize || e.size < 0)
}

// cleanUp removes this run's objects, every version and delete marker of
// them on a versioned bucket, and whatever earlier runs left under the probe
// prefix more than probeLeftoverAge ago, in one listing and one
// DeleteObjects. Ages are measured against the server's own clock (the
// LastModified of this run's objects), never the host's, so a skewed clock
// cannot make a running probe's objects look old. A failure leaves objects
// for a later probe to remove; it does not change the answers.
func (p *probe) cleanUp(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeCleanupTimeout)
	defer cancel()
	p.remove(ctx, p.doomed(ctx))
}

// doomed lists what cleanUp removes: what this run saw itself, and from the
// listing what is its own or old enough. Without a listing, only the former.
func (p *probe) doomed(ctx context.Context) []types.ObjectIdentifier {
	ids := slices.Clone(p.seen)
	entries, err := p.list(ctx)
	if err != nil {
		return dedupe(ids)
	}
	var now time.Time
	for _, e := range entries {
		if strings.HasPrefix(aws.ToString(e.id.Key), p.dir) && e.modified.After(now) {
			now = e.modified
		}
	}
	for _, e := range entries {
		own := strings.HasPrefix(aws.ToString(e.id.Key), p.dir) && e.leftover()
		old := !now.IsZero() && e.modified.Before(now.Add(-probeLeftoverAge)) && e.leftover()
		if own || old {
			ids = append(ids, e.id)
		}
	}
	return dedupe(ids)
}

// list lists the probe prefix: every version and delete marker on a
// versioned bucket, the objects on another. One page is enough: what does
// not fit is removed by the next probes.
func (p *probe) list(ctx context.Context) ([]probeEntry, error) {
	var entries []probeEntry
	if p.versioned {
		out, err := p.c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(p.bucket), Prefix: aws.String(reconcile.ProbePrefix)})
		if err != nil {
			return nil, mapError(p.listCall("s3:ListBucketVersions"), err)
		}
		for _, v := range out.Versions {
			entries = append(entries, probeEntry{types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId}, aws.ToTime(v.LastModified), aws.ToInt64(v.Size)})
		}
		for _, m := range out.DeleteMarkers {
			entries = append(entries, probeEntry{types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId}, aws.ToTime(m.LastModified), -1})
		}
		return entries, nil
	}
	out, err := p.c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(p.bucket), Prefix: aws.String(reconcile.ProbePrefix)})
	if err != nil {
		return nil, mapError(p.listCall("s3:ListBucket"), err)
	}
	for _, o := range out.Contents {
		entries = append(entries, probeEntry{types.ObjectIdentifier{Key: o.Key}, aws.ToTime(o.LastModified), aws.ToInt64(o.Size)})
	}
	return entries, nil
}

func (p *probe) listCall(allow string) call {
	return call{
		op:      fmt.Sprintf("probe: list s3://%s/%s", p.bucket, reconcile.ProbePrefix),
		buckets: []string{p.bucket},
		allow:   fmt.Sprintf("%s on arn:aws:s3:::%s with the prefix %s", allow, p.bucket, reconcile.ProbePrefix),
	}
}

// remove deletes ids, each exactly (by version where it has one), in
// DeleteObjects requests, or one by one where the server will not take
// them in a batch. Errors are left for the next probe.
func (p *probe) remove(ctx context.Context, ids []types.ObjectIdentifier) {
	for start := 0; start < len(ids); start += MaxDeleteBatch {
		batch := ids[start:min(start+MaxDeleteBatch, len(ids))]
		if !p.c.noBatch.Load() {
			_, err := p.c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(p.bucket),
				Delete: &types.Delete{Objects: batch, Quiet: aws.Bool(true)},
			})
			if err == nil {
				continue
			}
		}
		for _, id := range batch {
			_, _ = p.c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.bucket), Key: id.Key, VersionId: id.VersionId})
		}
	}
}

// dedupe drops repeated identifiers, keeping the first of each.
func dedupe(ids []types.ObjectIdentifier) []types.ObjectIdentifier {
	seen := make(map[[2]string]bool, len(ids))
	var out []types.ObjectIdentifier
	for _, id := range ids {
		k := [2]string{aws.ToString(id.Key), aws.ToString(id.VersionId)}
		if !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return out
}
