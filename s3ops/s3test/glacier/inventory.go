package glacier

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/inventory"
)

// S3 Inventory, which SeaweedFS does not have (PUT ?inventory answers 501
// NotImplemented, GET an empty answer):
//
//   - GET, PUT and DELETE /{bucket}?inventory&id=ID, and GET
//     /{bucket}?inventory for the list: configurations are kept in memory,
//     each under its id, as S3 keeps up to 1,000 per bucket (a PUT replaces
//     only the one with its id). A missing one is 404 NoSuchConfiguration;
//     a document S3's schema refuses is MalformedXML; an id that is not the
//     query's, or a destination that is not a bucket ARN, InvalidArgument;
//     a 1,001st, TooManyConfigurations.
//   - Each sweep writes a report, with inventory.WriteDated, for every
//     enabled configuration that is due: the first sweep after it is put,
//     then once a day (seven days for Weekly) on the accelerated clock. S3
//     names a report's folder for the minute it began (one report a day);
//     the layer's days may be seconds, so a report whose minute already
//     has one (or a later one: the destination is looked at, so that a
//     layer started again does not write behind its last run) goes into
//     the folder of the minute after the newest there: its
//     creationTimestamp is still the instant it was listed, and folders
//     still sort in the order of the reports. The report lists the bucket (every version and delete
//     marker for IncludedObjectVersions All) under the filter prefix, with
//     the optional fields configured that trashd's reader knows, in CSV or
//     Parquet, in S3's layout, in the destination bucket: data files,
//     manifest.json and manifest.checksum last. ORC is not written (a
//     warning says so). LastModifiedDate is the one reads give: from before
//     the layer's transition copies.
//
// Run's background sweeps write reports too: a test that puts an inventory
// configuration gives the layer long days (Run sweeps every quarter day)
// and writes its reports with Sweep or Advance, so that no report lands in
// a destination bucket while the test's cleanup removes it.
//
// Leaves out: the destination bucket policy S3 needs (the layer writes with
// its own credentials), encryption of reports, the 48 hours S3 may take for
// the first report, and S3's exact error messages.

const (
	maxInventoryBody          = 1 << 20
	maxInventoryConfiguration = 1000
	inventoryARNPrefix        = "arn:aws:s3:::"
)

// inventoryConfiguration is S3's InventoryConfiguration document.
type inventoryConfiguration struct {
	XMLName     xml.Name `xml:"InventoryConfiguration"`
	Destination struct {
		S3BucketDestination struct {
			AccountID  string    `xml:"AccountId,omitempty"`
			Bucket     string    `xml:"Bucket"`
			Format     string    `xml:"Format"`
			Prefix     string    `xml:"Prefix,omitempty"`
			Encryption *innerXML `xml:"Encryption,omitempty"`
		} `xml:"S3BucketDestination"`
	} `xml:"Destination"`
	IsEnabled bool `xml:"IsEnabled"`
	Filter    *struct {
		Prefix string `xml:"Prefix"`
	} `xml:"Filter,omitempty"`
	ID                     string `xml:"Id"`
	IncludedObjectVersions string `xml:"IncludedObjectVersions"`
	OptionalFields         *struct {
		Field []string `xml:"Field"`
	} `xml:"OptionalFields,omitempty"`
	Schedule struct {
		Frequency string `xml:"Frequency"`
	} `xml:"Schedule"`
}

type innerXML struct {
	Inner []byte `xml:",innerxml"`
}

// listInventoryResult is ListBucketInventoryConfigurations' answer.
type listInventoryResult struct {
	XMLName     xml.Name                 `xml:"ListInventoryConfigurationsResult"`
	Configs     []inventoryConfiguration `xml:"InventoryConfiguration"`
	IsTruncated bool                     `xml:"IsTruncated"`
}

// inventoryState is the layer's inventory configurations and when it last
// wrote a report for each.
type inventoryState struct {
	mu      sync.Mutex
	configs map[string]map[string]inventoryConfiguration // by bucket, then id
	last    map[string]time.Time                         // by bucket + "/" + id: the last report's creation
	warned  map[string]bool                              // ORC configurations warned about
}

func (st *inventoryState) init() {
	if st.configs == nil {
		st.configs = make(map[string]map[string]inventoryConfiguration)
		st.last = make(map[string]time.Time)
		st.warned = make(map[string]bool)
	}
}

// serveInventory answers GET, PUT and DELETE /{bucket}?inventory.
func (s *Server) serveInventory(w http.ResponseWriter, r *http.Request, bucket string) {
	if !signed(r) {
		writeError(w, r, errAccessDenied())
		return
	}
	id := r.URL.Query().Get("id")
	switch {
	case r.Method == http.MethodGet && id == "":
	case r.Method == http.MethodGet, r.Method == http.MethodPut, r.Method == http.MethodDelete:
		if id == "" {
			writeError(w, r, errInvalidArgument("Inventory configuration id is missing"))
			return
		}
	default:
		writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Message: "The specified method is not allowed against this resource."})
		return
	}
	if e := s.headBucket(r.Context(), bucket); e != nil {
		writeError(w, r, e)
		return
	}
	st := &s.inventories
	switch {
	case r.Method == http.MethodGet && id == "":
		st.mu.Lock()
		list := listInventoryResult{XMLName: xml.Name{Space: s3Namespace, Local: "ListInventoryConfigurationsResult"}}
		for _, id := range slices.Sorted(maps.Keys(st.configs[bucket])) {
			list.Configs = append(list.Configs, st.configs[bucket][id])
		}
		st.mu.Unlock()
		writeXML(w, r, list)
	case r.Method == http.MethodGet:
		st.mu.Lock()
		cfg, ok := st.configs[bucket][id]
		st.mu.Unlock()
		if !ok {
			writeError(w, r, errNoSuchConfiguration())
			return
		}
		cfg.XMLName = xml.Name{Space: s3Namespace, Local: "InventoryConfiguration"}
		writeXML(w, r, cfg)
	case r.Method == http.MethodPut:
		s.putInventory(w, r, bucket, id)
	default:
		st.mu.Lock()
		_, ok := st.configs[bucket][id]
		delete(st.configs[bucket], id)
		delete(st.last, bucket+"/"+id)
		st.mu.Unlock()
		if !ok {
			writeError(w, r, errNoSuchConfiguration())
			return
		}
		w.Header().Set("X-Amz-Request-Id", requestID())
		w.WriteHeader(http.StatusNoContent)
	}
}

func errNoSuchConfiguration() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchConfiguration", Message: "The specified configuration does not exist."}
}

func writeXML(w http.ResponseWriter, r *http.Request, doc any) {
	b, err := xml.Marshal(doc)
	if err != nil {
		writeError(w, r, errInternal(err))
		return
	}
	b = append([]byte(xml.Header), b...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Amz-Request-Id", requestID())
	_, _ = w.Write(b)
}

// optionalFields are the OptionalFields values S3's schema accepts.
var optionalFields = []string{"Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded", "ReplicationStatus",
	"EncryptionStatus", "ObjectLockRetainUntilDate", "ObjectLockMode", "ObjectLockLegalHoldStatus", "ObjectLockEventHoldStatus",
	"ObjectLockEventHoldDuration", "IntelligentTieringAccessTier", "BucketKeyStatus", "ChecksumAlgorithm",
	"ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate", "IntelligentTieringReferenceDate"}

func (s *Server) putInventory(w http.ResponseWriter, r *http.Request, bucket, id string) {
	body, e := readBody(r, maxInventoryBody, false)
	if e != nil {
		writeError(w, r, e)
		return
	}
	var cfg inventoryConfiguration
	if err := xml.Unmarshal(body, &cfg); err != nil {
		writeError(w, r, errMalformedXML())
		return
	}
	d := cfg.Destination.S3BucketDestination
	valid := slices.Contains([]string{"CSV", "ORC", "Parquet"}, d.Format) &&
		slices.Contains([]string{"Daily", "Weekly"}, cfg.Schedule.Frequency) &&
		slices.Contains([]string{"All", "Current"}, cfg.IncludedObjectVersions) && d.Bucket != "" && cfg.ID != ""
	if cfg.OptionalFields != nil {
		for _, f := range cfg.OptionalFields.Field {
			valid = valid && slices.Contains(optionalFields, f)
		}
	}
	switch {
	case !valid:
		writeError(w, r, errMalformedXML())
		return
	case cfg.ID != id:
		writeError(w, r, errInvalidArgument("Configuration ID mismatch: the Id in the document is not the id of the request"))
		return
	case !strings.HasPrefix(d.Bucket, inventoryARNPrefix) || strings.TrimPrefix(d.Bucket, inventoryARNPrefix) == "":
		writeError(w, r, errInvalidArgument("Invalid destination bucket ARN: "+d.Bucket))
		return
	}
	st := &s.inventories
	st.mu.Lock()
	st.init()
	if st.configs[bucket] == nil {
		st.configs[bucket] = make(map[string]inventoryConfiguration)
	}
	_, replaces := st.configs[bucket][id]
	if !replaces && len(st.configs[bucket]) >= maxInventoryConfiguration {
		st.mu.Unlock()
		writeError(w, r, &apiError{Status: http.StatusBadRequest, Code: "TooManyConfigurations",
			Message: "You are attempting to create a new configuration but have already reached the 1,000-configuration limit."})
		return
	}
	st.configs[bucket][id] = cfg
	st.mu.Unlock()
	s.logger().Info("inventory configuration set", "bucket", bucket, "id", id, "format", d.Format, "destination", d.Bucket)
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(http.StatusOK)
}

// sweepInventories writes a report for every enabled configuration that
// is due (see the comment at the top of this file).
func (s *Server) sweepInventories(ctx context.Context) error {
	st := &s.inventories
	now := s.now()
	type due struct {
		bucket string
		cfg    inventoryConfiguration
	}
	var todo []due
	st.mu.Lock()
	for _, bucket := range slices.Sorted(maps.Keys(st.configs)) {
		for _, id := range slices.Sorted(maps.Keys(st.configs[bucket])) {
			cfg := st.configs[bucket][id]
			if !cfg.IsEnabled {
				continue
			}
			if cfg.Destination.S3BucketDestination.Format == "ORC" {
				if !st.warned[bucket+"/"+id] {
					st.warned[bucket+"/"+id] = true
					s.logger().Warn("inventory configuration asks for ORC, which the layer does not write", "bucket", bucket, "id", id)
				}
				continue
			}
			period := s.cfg.DayLength
			if cfg.Schedule.Frequency == "Weekly" {
				period *= 7
			}
			if last, ok := st.last[bucket+"/"+id]; ok && now.Sub(last) < period {
				continue
			}
			todo = append(todo, due{bucket, cfg})
		}
	}
	st.mu.Unlock()
	var errs []error
	for _, d := range todo {
		if err := s.writeInventory(ctx, d.bucket, d.cfg, now); err != nil {
			errs = append(errs, fmt.Errorf("inventory %q of bucket %s: %w", d.cfg.ID, d.bucket, err))
			continue
		}
		st.mu.Lock()
		if _, ok := st.configs[d.bucket][d.cfg.ID]; ok {
			st.last[d.bucket+"/"+d.cfg.ID] = now
		}
		st.mu.Unlock()
	}
	return errors.Join(errs...)
}

// writeInventory lists bucket and writes cfg's report of it, taken at now.
func (s *Server) writeInventory(ctx context.Context, bucket string, cfg inventoryConfiguration, now time.Time) error {
	d := cfg.Destination.S3BucketDestination
	loc := inventory.Location{Bucket: strings.TrimPrefix(d.Bucket, inventoryARNPrefix), Prefix: d.Prefix, SourceBucket: bucket, ConfigID: cfg.ID}
	versions := cfg.IncludedObjectVersions == "All"
	schema := []string{"Bucket", "Key"}
	if versions {
		schema = append(schema, "VersionId", "IsLatest", "IsDeleteMarker")
	}
	if cfg.OptionalFields != nil {
		for _, f := range inventory.FieldNames() {
			if slices.Contains(cfg.OptionalFields.Field, f) {
				schema = append(schema, f)
			}
		}
	}
	prefix := ""
	if cfg.Filter != nil {
		prefix = cfg.Filter.Prefix
	}
	// Listed whole before anything is written: a listing that fails half
	// way must not become a complete-looking report.
	var rows []inventory.Row
	collect := func(row inventory.Row) bool { rows = append(rows, row); return true }
	var err error
	if versions {
		err = s.listVersions(ctx, bucket, prefix, collect)
	} else {
		err = s.listCurrent(ctx, bucket, prefix, collect)
	}
	if err != nil {
		return err
	}
	folder, err := nextFolder(ctx, layerStore{s.client}, loc, now)
	if err != nil {
		return err
	}
	r, err := inventory.WriteDated(ctx, layerStore{s.client}, loc, folder, now, d.Format, schema, slices.Values(rows))
	if err != nil {
		return err
	}
	s.logger().Info("inventory report written", "bucket", bucket, "id", cfg.ID, "format", d.Format,
		"manifest", "s3://"+loc.Bucket+"/"+r.ManifestKey(), "files", len(r.Files))
	return nil
}

// folderLayout names a report's folder: the minute, as S3 names it.
const folderLayout = "2006-01-02T15-04Z"

// nextFolder is the folder of a report taken at now: its minute, or the
// minute after the newest folder at loc if that is not earlier.
func nextFolder(ctx context.Context, store inventory.Store, loc inventory.Location, now time.Time) (string, error) {
	folder := now.UTC().Truncate(time.Minute)
	base := loc.SourceBucket + "/" + loc.ConfigID + "/"
	if p := strings.Trim(loc.Prefix, "/"); p != "" {
		base = p + "/" + base
	}
	_, prefixes, err := store.List(ctx, loc.Bucket, base, "/")
	if err != nil {
		return "", err
	}
	for _, p := range prefixes {
		t, err := time.Parse(folderLayout, strings.TrimSuffix(strings.TrimPrefix(p, base), "/"))
		if err == nil && !t.Before(folder) {
			folder = t.Add(time.Minute)
		}
	}
	return folder.Format(folderLayout), nil
}

var errStopped = errors.New("stopped")

func (s *Server) listCurrent(ctx context.Context, bucket, prefix string, yield func(inventory.Row) bool) error {
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			etag := trimETag(aws.ToString(o.ETag))
			row := inventory.Row{
				Bucket: bucket, Key: aws.ToString(o.Key), IsLatest: true, Size: aws.ToInt64(o.Size), ETag: etag,
				StorageClass: cmp.Or(string(o.StorageClass), "STANDARD"), IsMultipartUploaded: strings.Contains(etag, "-"),
				LastModified: s.readLastModified(objectVersion{bucket, aws.ToString(o.Key), ""}, etag, aws.ToTime(o.LastModified)),
			}
			if len(o.ChecksumAlgorithm) > 0 {
				row.ChecksumAlgorithm = string(o.ChecksumAlgorithm[0])
			}
			if !yield(row) {
				return errStopped
			}
		}
	}
	return nil
}

func (s *Server) listVersions(ctx context.Context, bucket, prefix string, yield func(inventory.Row) bool) error {
	pages := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list the versions of s3://%s/%s: %w", bucket, prefix, err)
		}
		var rows []inventory.Row
		for _, v := range page.Versions {
			etag := trimETag(aws.ToString(v.ETag))
			id := objectVersion{bucket, aws.ToString(v.Key), normalVersion(aws.ToString(v.VersionId))}
			row := inventory.Row{
				Bucket: bucket, Key: id.Key, VersionID: cmp.Or(aws.ToString(v.VersionId), "null"), IsLatest: aws.ToBool(v.IsLatest),
				Size: aws.ToInt64(v.Size), ETag: etag, StorageClass: cmp.Or(string(v.StorageClass), "STANDARD"),
				IsMultipartUploaded: strings.Contains(etag, "-"), LastModified: s.readLastModified(id, etag, aws.ToTime(v.LastModified)),
			}
			if len(v.ChecksumAlgorithm) > 0 {
				row.ChecksumAlgorithm = string(v.ChecksumAlgorithm[0])
			}
			rows = append(rows, row)
		}
		for _, m := range page.DeleteMarkers {
			rows = append(rows, inventory.Row{Bucket: bucket, Key: aws.ToString(m.Key), VersionID: aws.ToString(m.VersionId),
				IsLatest: aws.ToBool(m.IsLatest), IsDeleteMarker: true, LastModified: aws.ToTime(m.LastModified)})
		}
		// S3 lists a key's versions newest first, the current one (or
		// delete marker) at the top; LastModified has whole seconds here,
		// so ties keep the listing's order.
		slices.SortStableFunc(rows, func(a, b inventory.Row) int {
			return cmp.Or(strings.Compare(a.Key, b.Key), boolRank(b.IsLatest)-boolRank(a.IsLatest), b.LastModified.Compare(a.LastModified))
		})
		for _, row := range rows {
			if !yield(row) {
				return errStopped
			}
		}
	}
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readLastModified is the LastModified reads of id give: the one from
// before the layer's transition copy, if it made one of this object. A
// listing's LastModified and the copy's own may differ by a second on
// SeaweedFS (see transition).
func (s *Server) readLastModified(id objectVersion, etag string, listed time.Time) time.Time {
	s.mu.Lock()
	m := s.transitioned[id]
	s.mu.Unlock()
	if m == nil || m.etag != etag {
		return listed
	}
	copied, err1 := http.ParseTime(m.lastModified)
	original, err2 := http.ParseTime(m.original)
	if err1 != nil || err2 != nil || listed.Sub(copied).Abs() > time.Second {
		return listed
	}
	return original
}

// layerStore is the layer's own client as an inventory.Store.
type layerStore struct{ c *s3.Client }

func (l layerStore) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := l.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if httpStatus(err) == http.StatusNotFound {
		return nil, fmt.Errorf("get s3://%s/%s: %w: %w", bucket, key, inventory.ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return out.Body, nil
}

func (l layerStore) List(ctx context.Context, bucket, prefix, delimiter string) (keys, prefixes []string, err error) {
	pages := s3.NewListObjectsV2Paginator(l.c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String(delimiter)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
	}
	return keys, prefixes, nil
}

func (l layerStore) Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	_, err := l.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: body, ContentLength: aws.Int64(size)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
