package glacier

import (
	"cmp"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// objectVersion names one object version; Version is "" for an
// unversioned object.
type objectVersion struct{ Bucket, Key, Version string }

// restore is a restore of one archived object version, running or done.
type restore struct {
	etag   string    // the object restored: another one under the same name is not
	ready  time.Time // when the restored copy can be read
	expiry time.Time // when the restored copy goes away; zero for an Intelligent-Tiering restore
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

// deep reports whether an object of class in Intelligent-Tiering access
// tier accessTier ("" outside Intelligent-Tiering) is in one of the Deep
// Archive classes or tiers, which have no Expedited retrievals.
func deep(class, accessTier string) bool {
	return class == "DEEP_ARCHIVE" || accessTier == AccessTierDeepArchive
}

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
// restored copy stays (0 when the request gives none) and the tier
// (Standard unless GlacierJobParameters says otherwise).
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
	if req.Tier != nil {
		// The top-level Tier is a SELECT restore's (API RestoreRequest:
		// "Retrieval tier at which the restore will be processed", with
		// Type SELECT); an archive restore names its tier in
		// GlacierJobParameters.
		return 0, "", errMalformedXML()
	}
	tier = TierStandard
	if req.GlacierJobParameters != nil && req.GlacierJobParameters.Tier != nil {
		tier = strings.TrimSpace(*req.GlacierJobParameters.Tier)
	}
	if tier != TierExpedited && tier != TierStandard && tier != TierBulk {
		return 0, "", errMalformedXML()
	}
	if req.Days != nil && *req.Days < 1 {
		return 0, "", errInvalidArgument("Days must be a positive integer")
	}
	return deref(req.Days), tier, nil
}

// serveRestore answers POST /{bucket}/{key}?restore: 202 for a new
// restore, 409 while one runs, 200 once done (setting a new expiry), 403
// InvalidObjectState for an object that is not archived.
func (s *Server) serveRestore(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if !signed(r) {
		writeError(w, r, errAccessDenied())
		return
	}
	body, e := readBody(r, 1<<20, false)
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
	class := cmp.Or(string(head.StorageClass), "STANDARD")
	id := objectVersion{bucket, key, normalVersion(aws.ToString(head.VersionId))}
	etag := trimETag(aws.ToString(head.ETag))
	accessTier := ""
	if class == "INTELLIGENT_TIERING" {
		accessTier = s.accessTierOf(id, etag)
	}
	if e := s.checkRestore(class, accessTier, days, tier); e != nil {
		writeError(w, r, e)
		return
	}
	status := s.startRestore(id, etag, days, tier, accessTier != "")
	if status == http.StatusConflict {
		writeError(w, r, &apiError{Status: http.StatusConflict, Code: "RestoreAlreadyInProgress",
			Message: "Object restore is already in progress"})
		return
	}
	s.logger().Info("restore", "bucket", bucket, "key", key, "version", id.Version, "class", class, "access_tier", accessTier,
		"tier", tier, "days", days, "status", status)
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(status)
}

// checkRestore refuses, as S3 does, a restore of an object of class (in
// Intelligent-Tiering access tier accessTier) that it would not start.
func (s *Server) checkRestore(class, accessTier string, days int64, tier string) *apiError {
	switch {
	case class == "INTELLIGENT_TIERING" && accessTier == "":
		// In an access tier that reads at once: API RestoreObject's
		// ObjectAlreadyInActiveTierError.
		return &apiError{Status: http.StatusForbidden, Code: "ObjectAlreadyInActiveTierError",
			Message: "This action is not allowed against this storage tier."}
	case class == "INTELLIGENT_TIERING" && days > 0:
		return errInvalidArgument("INTELLIGENT_TIERING objects are not subject to restore expiry. Do not specify Days when restoring this object")
	case !archived(class) && class != "INTELLIGENT_TIERING":
		e := errInvalidObjectState(class)
		e.Message = "Restore is not allowed for the object's current storage class"
		return e
	case class != "INTELLIGENT_TIERING" && days == 0:
		return errInvalidArgument("Days is required when restoring an object from the GLACIER or DEEP_ARCHIVE storage class")
	case tier == TierExpedited && deep(class, accessTier):
		return errInvalidArgument("Expedited retrievals are not available for the DEEP_ARCHIVE storage class or the Intelligent-Tiering Deep Archive Access tier")
	case tier == TierExpedited && s.expeditedUnavailable.Load():
		return &apiError{Status: http.StatusServiceUnavailable, Code: "GlacierExpeditedRetrievalNotAvailable",
			Message: "Glacier expedited retrievals are currently not available, please try again later"}
	}
	return nil
}

// SetExpeditedAvailable makes Expedited restores possible (the default) or
// not: while they are not, RestoreObject with the Expedited tier answers 503
// GlacierExpeditedRetrievalNotAvailable, as S3 does when it has no capacity
// for them.
func (s *Server) SetExpeditedAvailable(ok bool) { s.expeditedUnavailable.Store(!ok) }

// startRestore starts a restore of id, or sets a new expiry for one that is
// done, and returns the status S3 answers with. S3 counts a restore's days
// from the request, the first and every later one, rounded up to the next
// midnight UTC. An Intelligent-Tiering restore (days 0) moves the object
// back to the Frequent Access tier once it is done, and has no expiry.
func (s *Server) startRestore(id objectVersion, etag string, days int64, tier string, intelligent bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var expiry time.Time
	if !intelligent {
		expiry = s.restoreExpiry(now, days)
	}
	switch cur := s.restoreOf(id, etag, now); {
	case cur == nil:
		s.restores[id] = &restore{etag: etag, ready: now.Add(s.cfg.Restore[tier]), expiry: expiry}
		return http.StatusAccepted
	case cur.ongoing(now):
		return http.StatusConflict
	default:
		// S3 counts the new period from now, not from the old expiry.
		cur.expiry = expiry
		return http.StatusOK
	}
}

// restoreOf returns the restore of id if it is for the object with etag and
// has not expired, forgetting it otherwise (an expired one whose header
// lingers is kept until the header goes too). A finished
// Intelligent-Tiering restore has moved the object out of its archive tier:
// both are forgotten. s.mu must be held.
func (s *Server) restoreOf(id objectVersion, etag string, now time.Time) *restore {
	r := s.restores[id]
	if r == nil {
		return nil
	}
	switch {
	case r.etag != etag:
		delete(s.restores, id)
		return nil
	case r.expiry.IsZero() && !r.ongoing(now):
		delete(s.restores, id)
		delete(s.accessTiers, id)
		return nil
	case !r.expiry.IsZero() && !now.Before(r.expiry):
		if now.Before(r.expiry.Add(s.cfg.LingerRestoreHeader)) {
			return nil
		}
		delete(s.restores, id)
		return nil
	}
	return r
}

// lingering is the x-amz-restore of id's expired restore while its header
// lingers (LingerRestoreHeader), else "". s.mu must be held.
func (s *Server) lingering(id objectVersion, etag string, now time.Time) string {
	r := s.restores[id]
	if r == nil || r.etag != etag || r.expiry.IsZero() || now.Before(r.expiry) || !now.Before(r.expiry.Add(s.cfg.LingerRestoreHeader)) {
		return ""
	}
	return r.header(now)
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
	delete(s.accessTiers, id)
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
	for id := range s.accessTiers {
		if id.Bucket == bucket {
			delete(s.accessTiers, id)
		}
	}
	for id := range s.transitioned {
		if id.Bucket == bucket {
			delete(s.transitioned, id)
		}
	}
}

// inspectRead handles a successful forwarded GET or HEAD of an object: an
// archived object gets x-amz-restore if a restore was asked for (and
// x-amz-archive-status in an Intelligent-Tiering archive tier), a GET of
// one that is not restored becomes 403 InvalidObjectState, and an object the
// layer transitioned shows the LastModified it had before.
func (s *Server) inspectRead(resp *http.Response, bucket, key string) {
	id := objectVersion{bucket, key, normalVersion(resp.Header.Get("X-Amz-Version-Id"))}
	etag := trimETag(resp.Header.Get("ETag"))
	s.keepLastModified(resp, id, etag)
	class := resp.Header.Get("X-Amz-Storage-Class")
	if !archived(class) && class != "INTELLIGENT_TIERING" {
		return
	}
	s.mu.Lock()
	now := s.now()
	accessTier := ""
	if class == "INTELLIGENT_TIERING" {
		accessTier = s.accessTierLocked(id, etag, now)
	}
	header := s.lingering(id, etag, now)
	readable := false
	if r := s.restoreOf(id, etag, now); r != nil {
		header, readable = r.header(now), !r.ongoing(now)
	}
	if class == "INTELLIGENT_TIERING" {
		readable = accessTier == ""
		if !strings.Contains(header, `"true"`) {
			header = "" // a finished Intelligent-Tiering restore has left its archive tier
		}
	}
	s.mu.Unlock()
	if header != "" {
		resp.Header.Set("X-Amz-Restore", header)
	}
	if accessTier != "" {
		resp.Header.Set("X-Amz-Archive-Status", accessTier)
	}
	if resp.Request.Method == http.MethodGet && !readable {
		e := errInvalidObjectState(class)
		e.AccessTier = accessTier
		replaceResponse(resp, e)
	}
}

// serveCopy forwards CopyObject and UploadPartCopy unless their source is
// archived and not restored, which S3 refuses with InvalidObjectState (or
// ArchivedCopyError). A CopyObject that names no storage class is sent on
// with STANDARD, where S3 puts such a copy: SeaweedFS would keep the
// source's class.
func (s *Server) serveCopy(w http.ResponseWriter, r *http.Request) {
	if src, ok := parseCopySource(r.Header.Get("X-Amz-Copy-Source")); ok {
		// A source that cannot be read is the server's to report.
		if head, e := s.headObject(r.Context(), src.Bucket, src.Key, src.Version); e == nil {
			id := objectVersion{src.Bucket, src.Key, normalVersion(aws.ToString(head.VersionId))}
			etag := trimETag(aws.ToString(head.ETag))
			class := string(head.StorageClass)
			refused := archived(class) && !s.readable(id, etag)
			accessTier := ""
			if class == "INTELLIGENT_TIERING" {
				accessTier = s.accessTierOf(id, etag)
				refused = accessTier != ""
			}
			if refused {
				if !signed(r) {
					writeError(w, r, errAccessDenied())
					return
				}
				writeError(w, r, s.archivedCopyError(class, accessTier))
				return
			}
			if bucket, key := splitPath(r.URL.Path); !r.URL.Query().Has("uploadId") && r.Header.Get("X-Amz-Storage-Class") == "" &&
				class != "" && class != "STANDARD" {
				s.copyToStandard(w, r, bucket, key)
				return
			}
		}
	}
	s.forward.ServeHTTP(w, r)
}

// copyToStandard forwards a CopyObject that names no storage class and
// whose source is in another class than STANDARD, then copies the new
// object onto itself in STANDARD, where S3 would have put it (SeaweedFS
// keeps the source's class, and checks the signature of every x-amz-
// header, so the request itself cannot say so).
func (s *Server) copyToStandard(w http.ResponseWriter, r *http.Request, bucket, key string) {
	rec := httptest.NewRecorder()
	s.forward.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		var result struct{ ETag string }
		if xml.Unmarshal(rec.Body.Bytes(), &result) == nil && result.ETag != "" {
			_, err := s.client.CopyObject(r.Context(), &s3.CopyObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(key),
				CopySource:        aws.String(copySource(bucket, key)),
				CopySourceIfMatch: aws.String(result.ETag),
				StorageClass:      types.StorageClassStandard,
				MetadataDirective: types.MetadataDirectiveCopy,
				TaggingDirective:  types.TaggingDirectiveCopy,
			})
			if err != nil {
				s.logger().Warn("copy without a storage class left in the source's class", "bucket", bucket, "key", key, "err", err)
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// archivedCopyError is the answer to a copy whose source is archived.
func (s *Server) archivedCopyError(class, accessTier string) *apiError {
	if s.cfg.ArchivedCopyError == CodeObjectNotInActiveTier {
		return &apiError{Status: http.StatusForbidden, Code: CodeObjectNotInActiveTier,
			Message: "The source object of the COPY action is not in the active tier and is only stored in Amazon S3 Glacier."}
	}
	e := errInvalidObjectState(class)
	e.AccessTier = accessTier
	return e
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
