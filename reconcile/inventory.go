package reconcile

import (
	"context"
	"crypto/sha256"
	"errors"
	"iter"
	"regexp"
	"strings"
	"time"
)

// Inventories finds the newest S3 Inventory report of a bucket. cmd adapts
// package inventory to it: the report's manifest and data files are checked
// there, and rows come out URL-decoded.
type Inventories interface {
	// Newest returns the newest complete report that lists bucket;
	// ErrNoInventory when no inventory is configured for it.
	Newest(ctx context.Context, bucket string) (InventorySnapshot, error)
}

// ErrNoInventory: no inventory is configured for the bucket.
var ErrNoInventory = errors.New("no inventory is configured for the bucket")

// InventorySnapshot is one report: a listing of Bucket taken at Created.
// Anything trashd changed after Created is not in it.
type InventorySnapshot struct {
	Bucket  string
	Created time.Time
	Where   string // where the report lies, for messages (s3://dest/prefix/…/date/)
	// Rows streams the report's rows, once per call; each call reads the
	// data files again, never holding one whole. An error ends the walk.
	Rows func(ctx context.Context) iter.Seq2[InventoryRow, error]
}

// InventoryRow is one object, or one version of a versioned bucket, as a
// report lists it.
type InventoryRow struct {
	Key          string // URL-decoded
	VersionID    string // versioned reports only
	IsLatest     bool   // true in an unversioned report
	DeleteMarker bool
	Size         int64
	ETag         string
	StorageClass string // "" is STANDARD
	LastModified time.Time
}

// current reports whether row is the object a HEAD of its key would find.
func (row InventoryRow) current() bool { return row.IsLatest && !row.DeleteMarker }

// InventoryConfig is where reports land and how they are used.
type InventoryConfig struct {
	// Trash is where the trash bucket's reports land; zero: the trash
	// bucket has no inventory, and transitions are confirmed with HEAD.
	Trash InventoryPlace
	// Sources is where the source buckets' reports land, for the audit
	// against the LMS; each source bucket's lie under its own name there,
	// as S3 lays them out. Zero: no source bucket has one.
	Sources InventoryPlace
	// MaxAge: a report older than this is not used; passes confirm with
	// HEAD instead, and say so. Default DefaultInventoryMaxAge.
	MaxAge time.Duration
}

// InventoryPlace is where one inventory configuration delivers its reports:
// Bucket/Prefix/<listed bucket>/ID/<date>/manifest.json.
type InventoryPlace struct {
	Bucket string // the destination bucket; "" for none
	Prefix string // the destination prefix, without a trailing slash; may be empty
	ID     string // the inventory configuration's id
}

// Set reports whether the place names a destination bucket.
func (p InventoryPlace) Set() bool { return p.Bucket != "" }

// inventoryID is what S3 accepts as an inventory configuration's id.
var inventoryID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate reports every problem at once, each a *FieldError naming its
// field.
func (c InventoryConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	for name, p := range map[string]InventoryPlace{"Trash": c.Trash, "Sources": c.Sources} {
		if !p.Set() {
			continue
		}
		if err := CheckBucketName(p.Bucket); err != nil {
			bad(name+".Bucket", "%v", err)
		}
		if strings.HasPrefix(p.Prefix, "/") || strings.HasSuffix(p.Prefix, "/") || strings.Contains(p.Prefix, "//") {
			bad(name+".Prefix", "%q starts or ends with / or holds //; write the destination prefix as the inventory configuration names it, without slashes at its ends", p.Prefix)
		}
		if !inventoryID.MatchString(p.ID) {
			bad(name+".ID", "%q is not an inventory configuration id (1 to 64 letters, digits, '.', '-' or '_'); use the id the bucket's inventory configuration has", p.ID)
		}
	}
	if c.MaxAge <= 0 {
		bad("MaxAge", "%s is not a positive duration", c.MaxAge)
	}
	return errors.Join(errs...)
}

// DefaultInventoryMaxAge: S3 delivers daily reports within 48 hours.
const DefaultInventoryMaxAge = 48 * time.Hour

// InventoryRecords is what confirmation from a report needs of the
// database.
type InventoryRecords interface {
	// WaitingCopies returns up to limit in_trash records that q selects
	// (q.Limit aside), with id > after, in id order, whose copy is in
	// bucket and was made no later than copiedBy: the records a report
	// taken at copiedBy may confirm.
	WaitingCopies(ctx context.Context, q TransitionQuery, bucket string, copiedBy time.Time, after int64, limit int) ([]WaitingCopy, error)
	// MarkArchived records copies archived in class, as MarkChecked does
	// each, for the records still in the life and with the copy each was
	// matched on, in_trash, unleased, without a restore requested, and
	// copied no later than copiedBy. It returns how many it changed.
	MarkArchived(ctx context.Context, copies []MatchedCopy, class string, copiedBy time.Time) (int, error)
}

// MatchedCopy is a record whose copy a report row confirmed: the record's
// id and life, and the hash (CopyKeyHash) of the copy's key, as
// WaitingCopies read them. A record restored, trashed again or moved to
// another copy since is not the one the row was matched on.
type MatchedCopy struct {
	ID      int64
	Life    int64
	KeyHash [16]byte
	// Size is the copy's size as the report lists it, for a record that
	// left its size to be filled (moved by its copy's answer alone); else
	// SizeUnknown.
	Size int64
}

// CopyKeyHash is the hash MatchedCopy holds of a copy's key: the first 16
// bytes of the SHA-256 of the key followed by one NUL byte, which MySQL
// computes as UNHEX(LEFT(SHA2(CONCAT(key, CHAR(0)), 256), 32)).
func CopyKeyHash(key string) [16]byte { return hashKey(key) }

// WaitingCopy is a record's trash copy as a report is checked against it.
type WaitingCopy struct {
	ID   int64
	Life int64  // the record's life, which a restore and a new trashing advance
	Key  string // the copy's key in the trash bucket
	Size int64
	ETag string // the copy's own ETag (the source's for a copy recorded before it kept its own)
	// Checked is when a HEAD last looked at it; zero for never.
	Checked time.Time
}

// InventoryUse wires reports into a Runner (WithInventory).
type InventoryUse struct {
	Reports Inventories
	Records InventoryRecords
	Config  InventoryConfig
	// Observe is told of each report read, used or too old.
	Observe func(bucket string, created time.Time)
}

// WithInventory has passes confirm transitions from the trash bucket's
// newest inventory report, with HEAD only where the report cannot.
func WithInventory(u InventoryUse) Option {
	return func(r *Runner) {
		if u.Config.MaxAge <= 0 {
			u.Config.MaxAge = DefaultInventoryMaxAge
		}
		if u.Observe == nil {
			u.Observe = func(string, time.Time) {}
		}
		r.inventory = &u
	}
}

// keyHash names a key in the sets that hold many of them: 16 bytes of
// SHA-256, whatever the key's length, so that 10^6 keys take 16 MB and no
// two keys trashd will ever see share one (keys are chosen by LMS users,
// so a hash that can be made to collide is not enough).
type keyHash [16]byte

func hashKey(parts ...string) keyHash {
	var k keyHash
	if len(parts) == 1 {
		// The common case, once per row of a report: one allocation.
		sum := sha256.Sum256(append([]byte(parts[0]), 0))
		copy(k[:], sum[:])
		return k
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	copy(k[:], h.Sum(nil))
	return k
}

// etagHash is 8 bytes of an ETag's SHA-256, quotes and case aside: with the
// size, it tells whether a row is the recorded copy.
type etagHash [8]byte

func hashETag(etag string) etagHash {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Trim(etag, `"`))))
	var e etagHash
	copy(e[:], sum[:8])
	return e
}

// inventoryChunk bounds the records held while a report is streamed: about
// 100 bytes each while a chunk is loaded (a compact struct with its key's
// hash and life, and a map entry), 25 MB, which the garbage collector lets
// grow to several times that; the records left for HEAD beyond a chunk are
// only the limit asked for; more records stream the report once per chunk
// (scripts/benchconfirm: 10^6 records, four streams, 119 MB peak RSS; with
// chunks twice this size, two streams but 205 MB).
const inventoryChunk = 1 << 18

// reportAge is how old snap is by the runner's clock.
func (r *Runner) reportAge(snap InventorySnapshot) time.Duration {
	return max(r.now().Sub(snap.Created), 0)
}
