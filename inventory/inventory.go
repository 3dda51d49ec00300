package inventory

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is what reading and writing a report needs from S3 (s3ops
// implements it with the SDK).
type Store interface {
	// Get returns the object's body; an absent object gives an error
	// wrapping ErrNotFound.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// List returns every key and common prefix under prefix, all pages.
	List(ctx context.Context, bucket, prefix, delimiter string) (keys, commonPrefixes []string, err error)
	// Put stores body (size bytes) at bucket/key.
	Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error
}

// ErrNotFound is wrapped by Store.Get when the object does not exist.
var ErrNotFound = errors.New("not found")

// Location is where an inventory configuration's reports land:
// Bucket/Prefix/SourceBucket/ConfigID/<date>/manifest.json.
type Location struct {
	Bucket       string // destination bucket
	Prefix       string // destination prefix, without a trailing slash; may be empty
	SourceBucket string // the bucket the inventory lists
	ConfigID     string // the inventory configuration's id
}

// Fields is the set of optional fields a report carried.
type Fields uint32

// The optional fields of a row; Bucket and Key are always present.
const (
	FieldVersion Fields = 1 << iota // VersionId, IsLatest, IsDeleteMarker
	FieldSize
	FieldLastModified
	FieldETag
	FieldStorageClass
	FieldChecksumAlgorithm
	FieldIsMultipartUploaded
	FieldReplicationStatus
	FieldEncryptionStatus
	FieldObjectLockRetainUntilDate
	FieldObjectLockMode
	FieldObjectLockLegalHoldStatus
	FieldIntelligentTieringAccessTier
	FieldBucketKeyStatus
	FieldObjectAccessControlList
	FieldObjectOwner
)

// Row is one object (or one version, in a versioned report) of a report.
// A field the report did not carry (see Has) is its zero value, and so are
// a delete marker's size, ETag and storage class.
type Row struct {
	Bucket, Key, VersionID string // Key decoded (CSV reports URL-encode it)
	IsLatest               bool   // versioned reports; unversioned: true
	IsDeleteMarker         bool
	Size                   int64
	ETag                   string // without quotes, as S3 Inventory writes it
	StorageClass           string
	LastModified           time.Time
	ChecksumAlgorithm      string
	IsMultipartUploaded    bool
	Has                    Fields // which optional fields the report carried
}

// Report is one complete inventory report, as its manifest describes it.
type Report struct {
	Location
	Date    string    // the <date> folder, e.g. 2026-12-06T01-00Z
	Created time.Time // creationTimestamp: the instant the listing was taken
	Format  string    // CSV or Parquet
	// Schema is fileSchema's fields by their CSV names (Bucket, Key,
	// Size, ...), in order; a Parquet report's snake_case columns are
	// given by the same names.
	Schema    []string
	Files     []File
	Versioned bool // the schema has VersionId
	// Skipped are the newer reports Latest passed over because they were
	// not complete, each as "<date>: what was missing".
	Skipped []string
}

// File is one data file of a report, as files[] in manifest.json names it.
type File struct {
	Key  string
	Size int64
	MD5  string // hex, from MD5checksum
}
