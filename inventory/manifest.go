package inventory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoReport is wrapped by Latest when no complete report is there yet.
var ErrNoReport = errors.New("no complete inventory report")

// manifestVersion is the version S3 writes in every manifest.json.
const manifestVersion = "2016-11-30"

// dateLayout is the <date> folder of a report: the time S3 began to list
// the bucket, to the minute (User Guide, "Locating your inventory list").
const dateLayout = "2006-01-02T15-04Z"

var dateFolder = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$`)

// maxManifestSize bounds what Latest reads of a manifest.json: S3 lists
// one data file per few hundred MB of inventory, so even a listing of
// billions of objects has a manifest of a few hundred KB.
const maxManifestSize = 64 << 20

// manifest is manifest.json, with S3's field names in S3's order.
type manifest struct {
	SourceBucket      string          `json:"sourceBucket"`
	DestinationBucket string          `json:"destinationBucket"`
	Version           string          `json:"version"`
	CreationTimestamp json.RawMessage `json:"creationTimestamp"` // ms since the epoch, as a string
	FileFormat        string          `json:"fileFormat"`
	FileSchema        string          `json:"fileSchema"`
	Files             []manifestFile  `json:"files"`
}

type manifestFile struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	MD5checksum string `json:"MD5checksum"`
}

// base is the folder of the configuration's reports, without a trailing
// slash: prefix/source-bucket/config-id.
func (loc Location) base() string {
	parts := []string{loc.SourceBucket, loc.ConfigID}
	if p := strings.Trim(loc.Prefix, "/"); p != "" {
		parts = append([]string{p}, parts...)
	}
	return strings.Join(parts, "/")
}

// String is where the reports land, as an s3:// URL.
func (loc Location) String() string { return "s3://" + loc.Bucket + "/" + loc.base() + "/" }

func (loc Location) validate() error {
	var bad []string
	if loc.Bucket == "" {
		bad = append(bad, "the destination bucket is empty")
	}
	if loc.SourceBucket == "" {
		bad = append(bad, "the source bucket is empty")
	}
	if loc.ConfigID == "" || strings.Contains(loc.ConfigID, "/") {
		bad = append(bad, fmt.Sprintf("the configuration id %q must be a name without a slash", loc.ConfigID))
	}
	if len(bad) > 0 {
		return fmt.Errorf("inventory location %s: %s", loc, strings.Join(bad, "; "))
	}
	return nil
}

// ManifestKey is the key of the report's manifest.json.
func (r *Report) ManifestKey() string { return r.base() + "/" + r.Date + "/manifest.json" }

// Latest finds the newest complete report under loc: manifest.json and
// manifest.checksum present, and the checksum equal to the MD5 of
// manifest.json. A partial or mismatched report is refused with an error
// that says what and where.
//
// S3 delivers a report's files one by one, so a newer report without both
// manifest files is one S3 has not finished delivering (or gave up on):
// Latest passes over it to the newest complete one and lists it in
// Report.Skipped (Write puts manifest.checksum last, for the same reason). A
// manifest.json whose MD5 is not the checksum is damage, not delivery in
// progress: Latest stops there with an error rather than fall back to an
// older report in silence. With no complete report at all the error wraps
// ErrNoReport.
func Latest(ctx context.Context, s Store, loc Location) (*Report, error) {
	if err := loc.validate(); err != nil {
		return nil, err
	}
	_, folders, err := s.List(ctx, loc.Bucket, loc.base()+"/", "/")
	if err != nil {
		return nil, fmt.Errorf("list the inventory reports under %s: %w", loc, err)
	}
	var dates []string
	for _, f := range folders {
		d := strings.TrimSuffix(strings.TrimPrefix(f, loc.base()+"/"), "/")
		if dateFolder.MatchString(d) {
			dates = append(dates, d)
		}
	}
	if len(dates) == 0 {
		return nil, fmt.Errorf("%w under %s: no report folder (<date>/manifest.json) at all: S3 delivers the first report within 48 hours of the inventory configuration; "+
			"check that the configuration %q on bucket %q names this destination bucket and prefix", ErrNoReport, loc, loc.ConfigID, loc.SourceBucket)
	}
	slices.Sort(dates)
	slices.Reverse(dates)
	var skipped []string
	for _, date := range dates {
		r, partial, err := readManifest(ctx, s, loc, date)
		if err != nil {
			return nil, err
		}
		if partial != "" {
			skipped = append(skipped, date+": "+partial)
			continue
		}
		r.Skipped = skipped
		return r, nil
	}
	return nil, fmt.Errorf("%w under %s: %d report(s), none complete (S3 may still be writing them): %s",
		ErrNoReport, loc, len(dates), strings.Join(skipped, "; "))
}

// readManifest reads and checks the manifest of the report of date. A
// report without manifest.json or manifest.checksum comes back as partial,
// saying which is missing.
func readManifest(ctx context.Context, s Store, loc Location, date string) (r *Report, partial string, err error) {
	dir := loc.base() + "/" + date + "/"
	where := "s3://" + loc.Bucket + "/" + dir
	body, err := getSmall(ctx, s, loc.Bucket, dir+"manifest.json")
	if errors.Is(err, ErrNotFound) {
		return nil, "no manifest.json", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the inventory manifest %smanifest.json: %w", where, err)
	}
	sum, err := getSmall(ctx, s, loc.Bucket, dir+"manifest.checksum")
	if errors.Is(err, ErrNotFound) {
		return nil, "manifest.json without manifest.checksum", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the inventory manifest checksum %smanifest.checksum: %w", where, err)
	}
	got := md5.Sum(body)
	if want := strings.TrimSpace(string(sum)); !strings.EqualFold(want, hex.EncodeToString(got[:])) {
		return nil, "", fmt.Errorf("inventory report %s is damaged: the MD5 of manifest.json is %x but manifest.checksum says %q: "+
			"the report cannot be trusted and none older is used in its place; delete the folder, or wait for the next report", where, got, want)
	}
	r, err = parseManifest(body, loc, date)
	if err != nil {
		return nil, "", fmt.Errorf("inventory manifest %smanifest.json: %w", where, err)
	}
	return r, "", nil
}

func getSmall(ctx context.Context, s Store, bucket, key string) ([]byte, error) {
	rc, err := s.Get(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("larger than %d MiB, which no S3 manifest is", maxManifestSize>>20)
	}
	return b, nil
}

// parquetColumn finds the column names in a Parquet fileSchema, a message
// such as "message s3.inventory { required binary bucket (STRING); ... }".
var parquetColumn = regexp.MustCompile(`(?:required|optional|repeated)\s+\w+\s+(\w+)`)

func parseManifest(body []byte, loc Location, date string) (*Report, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not S3 Inventory's JSON: %w", err)
	}
	var bad []string
	if m.SourceBucket != loc.SourceBucket {
		bad = append(bad, fmt.Sprintf("sourceBucket is %q, not %q", m.SourceBucket, loc.SourceBucket))
	}
	ms, err := strconv.ParseInt(strings.Trim(string(m.CreationTimestamp), `"`), 10, 64)
	if err != nil {
		bad = append(bad, fmt.Sprintf("creationTimestamp %s is not milliseconds since the epoch", m.CreationTimestamp))
	}
	r := &Report{Location: loc, Date: date, Created: time.UnixMilli(ms).UTC(), Format: m.FileFormat}
	var names []string
	switch {
	case strings.EqualFold(m.FileFormat, FormatCSV):
		r.Format = FormatCSV
		for n := range strings.SplitSeq(m.FileSchema, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	case strings.EqualFold(m.FileFormat, FormatParquet):
		r.Format = FormatParquet
		for _, sub := range parquetColumn.FindAllStringSubmatch(m.FileSchema, -1) {
			if f, ok := fieldBySnake(sub[1]); ok {
				names = append(names, f.name)
			} else {
				names = append(names, sub[1])
			}
		}
	case strings.EqualFold(m.FileFormat, FormatORC):
		return nil, errors.New("the report is in ORC, which trashd does not read: set the inventory configuration's format to Parquet (or CSV) and wait for the next report")
	default:
		return nil, fmt.Errorf("fileFormat %q is not CSV or Parquet: set the inventory configuration's format to Parquet (or CSV)", m.FileFormat)
	}
	if _, err := checkSchema(names, true); err != nil {
		bad = append(bad, "fileSchema: "+err.Error())
	}
	r.Schema = names
	r.Versioned = slices.Contains(names, "VersionId")
	for i, f := range m.Files {
		if f.Key == "" {
			bad = append(bad, fmt.Sprintf("files[%d] has no key", i))
		}
		if b, err := hex.DecodeString(f.MD5checksum); err != nil || len(b) != md5.Size {
			bad = append(bad, fmt.Sprintf("files[%d] (%s): MD5checksum %q is not an MD5", i, f.Key, f.MD5checksum))
		}
		r.Files = append(r.Files, File{Key: f.Key, Size: f.Size, MD5: strings.ToLower(f.MD5checksum)})
	}
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	return r, nil
}
