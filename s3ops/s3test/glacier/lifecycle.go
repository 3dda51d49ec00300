package glacier

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Namespace is the XML namespace of S3's documents.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// The x-amz-transition-default-minimum-object-size values (PUT and GET
// lifecycle): whether objects under 128 KB may move to the Glacier classes
// when a rule has no size filter.
const (
	minSizeAllClasses = "all_storage_classes_128K" // S3's default: none moves
	minSizeByClass    = "varies_by_storage_class"  // GLACIER and DEEP_ARCHIVE take them
)

const minSizeHeader = "X-Amz-Transition-Default-Minimum-Object-Size"

// maxLifecycleBody bounds a PUT lifecycle body: 1,000 rules fit easily.
const maxLifecycleBody = 4 << 20

// bucketLifecycle is a bucket's lifecycle configuration as it was PUT
// (rules without an ID got one), and its default minimum object size; with
// LifecyclePropagation, also the one before (nil for none) and when this one
// was put. A deleted configuration is kept, with deleted set, while the one
// before it propagates away.
type bucketLifecycle struct {
	config  lifecycleConfiguration
	minSize string
	deleted bool
	put     time.Time
	before  *bucketLifecycle
}

// visible is the configuration GET and sweeps see at now: the one put, or
// the one before while the new one propagates; nil for none.
func (lc *bucketLifecycle) visible(now time.Time, propagation time.Duration) *bucketLifecycle {
	if lc != nil && now.Before(lc.put.Add(propagation)) {
		lc = lc.before
	}
	if lc == nil || lc.deleted {
		return nil
	}
	return lc
}

// replaceLifecycle sets bucket's configuration to lc (deleted for a
// DELETE), keeping what was visible so far while lc propagates.
func (s *Server) replaceLifecycle(bucket string, lc *bucketLifecycle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	lc.put = now
	if s.cfg.LifecyclePropagation > 0 {
		lc.before = s.lifecycles[bucket].visible(now, s.cfg.LifecyclePropagation)
		if lc.before != nil {
			lc.before = &bucketLifecycle{config: lc.before.config, minSize: lc.before.minSize}
		}
	}
	if lc.deleted && lc.before == nil {
		delete(s.lifecycles, bucket)
		return
	}
	s.lifecycles[bucket] = lc
}

// lifecycleOf is the configuration of bucket that is visible now.
func (s *Server) lifecycleOf(bucket string) *bucketLifecycle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lifecycles[bucket].visible(s.now(), s.cfg.LifecyclePropagation)
}

// serveLifecycle answers GET, PUT and DELETE /{bucket}?lifecycle.
func (s *Server) serveLifecycle(w http.ResponseWriter, r *http.Request, bucket string) {
	if !signed(r) {
		writeError(w, r, errAccessDenied())
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodDelete:
	default:
		writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Message: "The specified method is not allowed against this resource."})
		return
	}
	if e := s.headBucket(r.Context(), bucket); e != nil {
		writeError(w, r, e)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.getLifecycle(w, r, bucket)
	case http.MethodPut:
		s.putLifecycle(w, r, bucket)
	case http.MethodDelete:
		s.replaceLifecycle(bucket, &bucketLifecycle{deleted: true})
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) getLifecycle(w http.ResponseWriter, r *http.Request, bucket string) {
	lc := s.lifecycleOf(bucket)
	if lc == nil {
		writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "NoSuchLifecycleConfiguration",
			Message: "The lifecycle configuration does not exist", BucketName: bucket})
		return
	}
	doc := lc.config
	doc.XMLName = xml.Name{Space: s3Namespace, Local: "LifecycleConfiguration"}
	b, err := xml.Marshal(doc)
	if err != nil {
		writeError(w, r, errInternal(err))
		return
	}
	b = append([]byte(xml.Header), b...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set(minSizeHeader, lc.minSize)
	h.Set("X-Amz-Request-Id", requestID())
	_, _ = w.Write(b)
}

func (s *Server) putLifecycle(w http.ResponseWriter, r *http.Request, bucket string) {
	body, e := readBody(r, maxLifecycleBody, true)
	if e != nil {
		writeError(w, r, e)
		return
	}
	minSize := r.Header.Get(minSizeHeader)
	switch minSize {
	case "":
		minSize = minSizeAllClasses
	case minSizeAllClasses, minSizeByClass:
	default:
		writeError(w, r, errInvalidRequest("Invalid TransitionDefaultMinimumObjectSize found"))
		return
	}
	cfg, e := parseLifecycle(body)
	if e != nil {
		writeError(w, r, e)
		return
	}
	s.replaceLifecycle(bucket, &bucketLifecycle{config: cfg, minSize: minSize})
	s.logger().Info("lifecycle configuration set", "bucket", bucket, "rules", len(cfg.Rules))
	w.Header().Set(minSizeHeader, minSize)
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(http.StatusOK)
}

// parseLifecycle reads and checks a LifecycleConfiguration document as S3
// does, and gives each rule without an ID one.
func parseLifecycle(body []byte) (lifecycleConfiguration, *apiError) {
	var cfg lifecycleConfiguration
	if err := checkSchema(body, "LifecycleConfiguration", lifecycleSchema); err != nil {
		return cfg, errMalformedXML()
	}
	if err := xml.Unmarshal(body, &cfg); err != nil {
		return cfg, errMalformedXML()
	}
	if e := validateLifecycle(&cfg); e != nil {
		return cfg, e
	}
	nameRules(cfg.Rules)
	return cfg, nil
}

// headBucket checks that bucket exists on the server.
func (s *Server) headBucket(ctx context.Context, bucket string) *apiError {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch status := httpStatus(err); {
	case err == nil:
		return nil
	case status == http.StatusNotFound:
		return errNoSuchBucket(bucket)
	case status == http.StatusForbidden:
		return errAccessDenied()
	default:
		return errInternal(err)
	}
}

// readBody reads r's body, at most limit bytes, decoding aws-chunked
// encoding and checking the digests and checksums the client sent; with
// requireDigest, a body without Content-MD5 or an x-amz-checksum-* is
// refused, as S3 refuses it on requests its API model marks
// httpChecksumRequired (PutBucketLifecycleConfiguration).
func readBody(r *http.Request, limit int64, requireDigest bool) ([]byte, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "IncompleteBody",
			Message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	}
	if int64(len(b)) > limit {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "EntityTooLarge",
			Message: "Your proposed upload exceeds the maximum allowed object size."}
	}
	trailer := http.Header{}
	if awsChunked(r) {
		if b, err = decodeAWSChunked(b, trailer); err != nil {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "IncompleteBody", Message: err.Error()}
		}
	}
	if requireDigest && !hasDigest(r.Header, trailer) {
		return nil, errInvalidRequest("Missing required header for this request: Content-Md5")
	}
	if e := checkDigests(b, r.Header, trailer); e != nil {
		return nil, e
	}
	return b, nil
}
