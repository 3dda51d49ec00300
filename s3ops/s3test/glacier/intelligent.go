package glacier

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The archive access tiers of S3 Intelligent-Tiering (HEAD's
// x-amz-archive-status, API HeadObject ArchiveStatus).
const (
	AccessTierArchive     = "ARCHIVE_ACCESS"
	AccessTierDeepArchive = "DEEP_ARCHIVE_ACCESS"
)

// accessTier is an Intelligent-Tiering object version in an archive tier.
type accessTier struct {
	etag string
	tier string
}

// ArchiveIntelligentTiering moves the INTELLIGENT_TIERING object
// bucket/key (its current version) into the archive access tier tier
// (AccessTierArchive or AccessTierDeepArchive), as S3 does after 90 or 180
// days without access when the bucket has an Intelligent-Tiering archive
// configuration, which the layer does not emulate. Until a restore (without
// Days) finishes, HEAD reports the tier in x-amz-archive-status, and GET and
// copies are refused with InvalidObjectState.
func (s *Server) ArchiveIntelligentTiering(ctx context.Context, bucket, key, tier string) error {
	if tier != AccessTierArchive && tier != AccessTierDeepArchive {
		return fmt.Errorf("archive s3://%s/%s: access tier %q is not %s or %s", bucket, key, tier, AccessTierArchive, AccessTierDeepArchive)
	}
	head, e := s.headObject(ctx, bucket, key, "")
	if e != nil {
		return fmt.Errorf("archive s3://%s/%s: %w", bucket, key, e)
	}
	if class := string(head.StorageClass); class != "INTELLIGENT_TIERING" {
		return fmt.Errorf("archive s3://%s/%s: the object is %s, not INTELLIGENT_TIERING", bucket, key, class)
	}
	id := objectVersion{bucket, key, normalVersion(aws.ToString(head.VersionId))}
	s.mu.Lock()
	s.accessTiers[id] = &accessTier{etag: trimETag(aws.ToString(head.ETag)), tier: tier}
	delete(s.restores, id)
	s.mu.Unlock()
	s.logger().Info("moved to an Intelligent-Tiering archive tier", "bucket", bucket, "key", key, "access_tier", tier)
	return nil
}

// accessTierOf is the archive tier the Intelligent-Tiering object id with
// etag is in, "" for none.
func (s *Server) accessTierOf(id objectVersion, etag string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accessTierLocked(id, etag, s.now())
}

// accessTierLocked is accessTierOf with s.mu held. A finished restore has
// moved the object back to the Frequent Access tier.
func (s *Server) accessTierLocked(id objectVersion, etag string, now time.Time) string {
	s.restoreOf(id, etag, now) // forgets the tier of a finished restore
	t := s.accessTiers[id]
	if t == nil {
		return ""
	}
	if t.etag != etag {
		delete(s.accessTiers, id)
		return ""
	}
	return t.tier
}

// moved is an object the layer transitioned: S3's transitions keep
// LastModified, the layer's copies do not, so reads are given back the one
// it had.
type moved struct {
	etag         string
	lastModified string // the copy's Last-Modified, as HEAD sends it
	original     string // the object's Last-Modified before the first transition
}

// keepLastModified sets an object's Last-Modified in a read's answer back
// to what it was before the layer transitioned it, if it did.
func (s *Server) keepLastModified(resp *http.Response, id objectVersion, etag string) {
	s.mu.Lock()
	m := s.transitioned[id]
	s.mu.Unlock()
	if m != nil && m.etag == etag && resp.Header.Get("Last-Modified") == m.lastModified {
		resp.Header.Set("Last-Modified", m.original)
	}
}

// rememberTransition records that the layer's copy of id, now with etag
// and LastModified copied, replaced an object last modified at original.
func (s *Server) rememberTransition(id objectVersion, etag string, original, copied time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.transitioned[id]; m != nil && m.lastModified == original.UTC().Format(http.TimeFormat) {
		original, _ = http.ParseTime(m.original) // transitioned before: keep the first time
	}
	s.transitioned[id] = &moved{etag: etag, lastModified: copied.UTC().Format(http.TimeFormat), original: original.UTC().Format(http.TimeFormat)}
}
