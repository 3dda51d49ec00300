package glacier

import (
	"cmp"
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objectVersion names one object version; Version is "" for an
// unversioned object.
type objectVersion struct{ Bucket, Key, Version string }

// restore is a restore of one archived object version, running or done.
type restore struct {
	etag   string    // the object restored: another one under the same name is not
	ready  time.Time // when the restored copy can be read
	expiry time.Time // when the restored copy goes away
}

func (r *restore) ongoing(now time.Time) bool { return now.Before(r.ready) }

// header is the restore's x-amz-restore value, as S3 sends it on HEAD and
// GET.
func (r *restore) header(now time.Time) string {
	if r.ongoing(now) {
		return `ongoing-request="true"`
	}
	return `ongoing-request="false", expiry-date="` + r.expiry.UTC().Format(http.TimeFormat) + `"`
}

// archived reports whether S3 refuses to read an object of class before it
// is restored: GLACIER (Flexible Retrieval) and DEEP_ARCHIVE, not
// GLACIER_IR, which reads like STANDARD.
func archived(class string) bool { return class == "GLACIER" || class == "DEEP_ARCHIVE" }

// restoreRequest is S3's RestoreRequest document.
type restoreRequest struct {
	XMLName              xml.Name
	Days                 *int64 `xml:"Days"`
	GlacierJobParameters *struct {
		Tier *string `xml:"Tier"`
	} `xml:"GlacierJobParameters"`
	Type             *string   `xml:"Type"`
	Tier             *string   `xml:"Tier"`
	SelectParameters *struct{} `xml:"SelectParameters"`
	OutputLocation   *struct{} `xml:"OutputLocation"`
}

var restoreSchema = schema{
	"RestoreRequest": {"Days": false, "GlacierJobParameters": false, "Type": false, "Tier": false,
		"Description": false, "SelectParameters": false, "OutputLocation": false},
	"GlacierJobParameters": {"Tier": false},
	"SelectParameters":     nil,
	"OutputLocation":       nil,
}

// parseRestoreRequest reads a RestoreRequest: the number of days the
// restored copy stays and the tier (Standard unless it says otherwise).
func parseRestoreRequest(body []byte) (days int64, tier string, e *apiError) {
	if checkSchema(body, "RestoreRequest", restoreSchema) != nil {
		return 0, "", errMalformedXML()
	}
	var req restoreRequest
	if xml.Unmarshal(body, &req) != nil {
		return 0, "", errMalformedXML()
	}
	if req.Type != nil || req.SelectParameters != nil || req.OutputLocation != nil {
		// SELECT restores and restores to another location.
		return 0, "", &apiError{Status: http.StatusNotImplemented, Code: "NotImplemented",
			Message: "A header you provided implies functionality that is not implemented"}
	}
	tier = TierStandard
	if req.GlacierJobParameters != nil && req.GlacierJobParameters.Tier != nil {
		tier = strings.TrimSpace(*req.GlacierJobParameters.Tier)
	} else if req.Tier != nil {
		tier = strings.TrimSpace(*req.Tier)
	}
	if tier != TierExpedited && tier != TierStandard && tier != TierBulk {
		return 0, "", errMalformedXML()
	}
	switch {
	case req.Days == nil:
		return 0, "", errInvalidArgument("Days is required when restoring an object from the GLACIER or DEEP_ARCHIVE storage class")
	case *req.Days < 1:
		return 0, "", errInvalidArgument("Days must be a positive integer")
	}
	return *req.Days, tier, nil
}

// serveRestore answers POST /{bucket}/{key}?restore: 202 for a new
// restore, 409 while one runs, 200 once done (setting a new expiry), 403
// InvalidObjectState for an object that is not archived.
func (s *Server) serveRestore(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if !signed(r) {
		writeError(w, r, errAccessDenied())
		return
	}
	body, e := readBody(r, 1<<20)
	if e != nil {
		writeError(w, r, e)
		return
	}
	days, tier, e := parseRestoreRequest(body)
	if e != nil {
		writeError(w, r, e)
		return
	}
	head, e := s.headObject(r.Context(), bucket, key, r.URL.Query().Get("versionId"))
	if e != nil {
		writeError(w, r, e)
		return
	}
	class := string(head.StorageClass)
	if !archived(class) {
		e := errInvalidObjectState(cmp.Or(class, "STANDARD"))
		e.Message = "Restore is not allowed for the object's current storage class"
		writeError(w, r, e)
		return
	}
	id := objectVersion{bucket, key, normalVersion(aws.ToString(head.VersionId))}
	status := s.startRestore(id, trimETag(aws.ToString(head.ETag)), days, tier)
	if status == http.StatusConflict {
		writeError(w, r, &apiError{Status: http.StatusConflict, Code: "RestoreAlreadyInProgress",
			Message: "Object restore is already in progress"})
		return
	}
	s.logger().Info("restore", "bucket", bucket, "key", key, "version", id.Version, "tier", tier, "days", days, "status", status)
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(status)
}

// startRestore starts a restore of id, or sets a new expiry for one that is
// done, and returns the status S3 answers with.
func (s *Server) startRestore(id objectVersion, etag string, days int64, tier string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch cur := s.restoreOf(id, etag, now); {
	case cur == nil:
		ready := now.Add(s.cfg.Restore[tier])
		s.restores[id] = &restore{etag: etag, ready: ready, expiry: s.restoreExpiry(ready, days)}
		return http.StatusAccepted
	case cur.ongoing(now):
		return http.StatusConflict
	default:
		// S3 counts the new period from now, not from the old expiry.
		cur.expiry = s.restoreExpiry(now, days)
		return http.StatusOK
	}
}

// restoreOf returns the restore of id if it is for the object with etag and
// has not expired, forgetting it otherwise. s.mu must be held.
func (s *Server) restoreOf(id objectVersion, etag string, now time.Time) *restore {
	r := s.restores[id]
	if r == nil {
		return nil
	}
	if r.etag != etag || !now.Before(r.expiry) {
		delete(s.restores, id)
		return nil
	}
	return r
}

// readable reports whether the archived object id with etag is restored.
func (s *Server) readable(id objectVersion, etag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r := s.restoreOf(id, etag, now)
	return r != nil && !r.ongoing(now)
}

func (s *Server) forgetRestore(id objectVersion) {
	s.mu.Lock()
	delete(s.restores, id)
	s.mu.Unlock()
}

// forgetBucket drops what the layer keeps about a deleted bucket.
func (s *Server) forgetBucket(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lifecycles, bucket)
	for id := range s.restores {
		if id.Bucket == bucket {
			delete(s.restores, id)
		}
	}
}

// inspectRead handles a successful forwarded GET or HEAD of an object: an
// archived object gets x-amz-restore if a restore was asked for, and a GET
// of one that is not restored becomes 403 InvalidObjectState.
func (s *Server) inspectRead(resp *http.Response, bucket, key string) {
	class := resp.Header.Get("X-Amz-Storage-Class")
	if !archived(class) {
		return
	}
	id := objectVersion{bucket, key, normalVersion(resp.Header.Get("X-Amz-Version-Id"))}
	etag := trimETag(resp.Header.Get("ETag"))
	s.mu.Lock()
	now := s.now()
	var header string
	readable := false
	if r := s.restoreOf(id, etag, now); r != nil {
		header, readable = r.header(now), !r.ongoing(now)
	}
	s.mu.Unlock()
	if header != "" {
		resp.Header.Set("X-Amz-Restore", header)
	}
	if resp.Request.Method == http.MethodGet && !readable {
		replaceResponse(resp, errInvalidObjectState(class))
	}
}

// serveCopy forwards CopyObject and UploadPartCopy unless their source is
// archived and not restored, which S3 refuses with InvalidObjectState.
func (s *Server) serveCopy(w http.ResponseWriter, r *http.Request) {
	if src, ok := parseCopySource(r.Header.Get("X-Amz-Copy-Source")); ok {
		// A source that cannot be read is the server's to report.
		if head, e := s.headObject(r.Context(), src.Bucket, src.Key, src.Version); e == nil && archived(string(head.StorageClass)) {
			id := objectVersion{src.Bucket, src.Key, normalVersion(aws.ToString(head.VersionId))}
			if !s.readable(id, trimETag(aws.ToString(head.ETag))) {
				if !signed(r) {
					writeError(w, r, errAccessDenied())
					return
				}
				writeError(w, r, errInvalidObjectState(string(head.StorageClass)))
				return
			}
		}
	}
	s.forward.ServeHTTP(w, r)
}

// parseCopySource reads an x-amz-copy-source header: "bucket/key", perhaps
// with a leading slash, URL-encoded as a path (a "+" is a plus, a "?" in the
// key is "%3F"), perhaps followed by "?versionId=".
func parseCopySource(v string) (objectVersion, bool) {
	path, query, _ := strings.Cut(strings.TrimPrefix(v, "/"), "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return objectVersion{}, false
	}
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return objectVersion{}, false
	}
	src := objectVersion{Bucket: bucket, Key: key}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return objectVersion{}, false
		}
		src.Version = q.Get("versionId")
	}
	return src, true
}

// headObject HEADs an object version ("" for the current one) on the
// server, with S3's error for a missing one.
func (s *Server) headObject(ctx context.Context, bucket, key, version string) (*s3.HeadObjectOutput, *apiError) {
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.client.HeadObject(ctx, in)
	switch status := httpStatus(err); {
	case err == nil:
		return out, nil
	case status == http.StatusNotFound:
		// A HEAD answer has no body to tell a missing bucket from a
		// missing key.
		if e := s.headBucket(ctx, bucket); e != nil {
			return nil, e
		}
		if version != "" {
			return nil, &apiError{Status: http.StatusNotFound, Code: "NoSuchVersion", Message: "The specified version does not exist.", Key: key}
		}
		return nil, errNoSuchKey(key)
	case status == http.StatusForbidden:
		return nil, errAccessDenied()
	case status == http.StatusBadRequest && version != "":
		return nil, errInvalidArgument("Invalid version id specified")
	default:
		return nil, errInternal(err)
	}
}

func trimETag(etag string) string { return strings.Trim(etag, `"`) }
