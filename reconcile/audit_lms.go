package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// LMSLister walks the LMS table, every row, for the audit against the
// buckets.
type LMSLister interface {
	// LMSObjects returns up to limit LMS rows with id > after, in id
	// order (BeforeFirstLMSID starts at the first), with their records.
	LMSObjects(ctx context.Context, after int64, limit int) ([]LMSObject, error)
}

// LMSObject is one LMS row, trashed or not, and what trashd recorded of it.
type LMSObject struct {
	LMSID       int64
	Bucket, Key string
	Trashed     bool
	State       State  // "" when trashd has no record of the row
	TrashBucket string // where the record's trash copy is ("" for the configured trash bucket)
	TrashKey    string // "" when no copy was attempted
}

// StrayObject is an object of a source bucket that no LMS row names.
type StrayObject struct {
	Bucket, Key  string
	Size         int64
	StorageClass string
	LastModified time.Time
}

// LMSBucketAudit is what the audit found in one source bucket's report.
type LMSBucketAudit struct {
	Bucket     string
	Report     string    // where the report lies; "" when none was usable
	Created    time.Time // the report's creationTimestamp
	Objects    int64     // current objects the report lists
	Strays     int64     // of them, named by no LMS row
	StrayBytes int64
	StrayCost  float64       // USD per month, at the configured prices
	Oldest     []StrayObject // the oldest strays, oldest first
}

// LMSAuditSummary is what the audit of the LMS against the buckets found.
type LMSAuditSummary struct {
	Rows          int // LMS rows read
	Buckets       []LMSBucketAudit
	WithoutObject int // rows whose object is in neither bucket, HEAD confirming it
	// Recorded are rows without an object whose record already says so
	// (missing, expired, removed): reported by `trashd status`, not again here.
	Recorded int
	// Unchecked are rows of a bucket without a usable report, or whose
	// objects S3 did not answer for.
	Unchecked int
	Headed    int // objects looked at with HEAD
	Notes     []string
}

// LMSAudit checks the LMS table against its source buckets' inventory
// reports, both ways: objects no LMS row names (stray uploads, counted as
// of the report), and rows whose object exists in neither the source
// bucket nor, for a moved object, the trash bucket. A row the report does
// not list is looked for in the trash bucket's report, then with HEAD,
// before it is reported. It only reports; it never deletes.
type LMSAudit struct {
	Rows        LMSLister
	Reports     Inventories
	Objects     ObjectStore
	TrashBucket string
	Prices      Prices
	// Buckets are audited for strays even when no LMS row names them (the
	// configured source bucket).
	Buckets     []string
	Oldest      int // how many of the oldest strays to list per bucket
	Concurrency int
	MaxAge      time.Duration
	Now         func() time.Time
}

// lmsChunk bounds the LMS rows held while reports stream past them.
const lmsChunk = 1 << 17

// sourceScan is one source bucket's report across the chunks: which of its
// rows an LMS row named, by their place in the stream (the report's files
// are read in the same order each time).
type sourceScan struct {
	snap  *InventorySnapshot
	named []uint64 // a bit per row
}

func (s *sourceScan) mark(i int64) {
	for int64(len(s.named))*64 <= i {
		s.named = append(s.named, 0)
	}
	s.named[i/64] |= 1 << (i % 64)
}

func (s *sourceScan) marked(i int64) bool {
	return i/64 < int64(len(s.named)) && s.named[i/64]&(1<<(i%64)) != 0
}

// Run audits, calling without for each row whose object is in neither
// bucket.
func (a LMSAudit) Run(ctx context.Context, without func(row LMSObject, detail string)) (LMSAuditSummary, error) {
	var sum LMSAuditSummary
	now := a.Now
	if now == nil {
		now = time.Now
	}
	report := func(bucket string) (*InventorySnapshot, error) {
		s, err := a.Reports.Newest(ctx, bucket)
		switch {
		case errors.Is(err, ErrNoInventory):
			return nil, fmt.Errorf("no inventory is configured for %s (TRASHD_SOURCE_INVENTORY_BUCKET, or TRASHD_INVENTORY_BUCKET for the trash bucket)", bucket)
		case err != nil:
			return nil, err
		case now().Sub(s.Created) > a.MaxAge:
			return nil, fmt.Errorf("the newest report of %s (%s) was taken %s ago, more than TRASHD_INVENTORY_MAX_AGE (%s)", bucket, s.Where,
				now().Sub(s.Created).Round(time.Second), a.MaxAge)
		}
		return &s, nil
	}
	sources := map[string]*sourceScan{}
	var order []string
	source := func(bucket string) *sourceScan {
		if s, ok := sources[bucket]; ok {
			return s
		}
		s := &sourceScan{}
		snap, err := report(bucket)
		if err != nil {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: %v; its rows were not checked", bucket, err))
		} else {
			s.snap = snap
		}
		sources[bucket] = s
		order = append(order, bucket)
		return s
	}
	var trash *InventorySnapshot
	if t, err := report(a.TrashBucket); err != nil {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s: %v; moved objects are looked at with HEAD", a.TrashBucket, err))
	} else {
		trash = t
	}
	for _, b := range a.Buckets {
		source(b)
	}
	after := BeforeFirstLMSID
	for done := false; !done && ctx.Err() == nil; {
		var rows []LMSObject
		for len(rows) < lmsChunk {
			page, err := a.Rows.LMSObjects(ctx, after, 1000)
			if err != nil {
				return sum, fmt.Errorf("read LMS rows after id %d: %w", after, err)
			}
			if len(page) == 0 {
				done = true
				break
			}
			after = page[len(page)-1].LMSID
			rows = append(rows, page...)
		}
		sum.Rows += len(rows)
		if err := a.checkRows(ctx, rows, source, trash, &sum, without); err != nil {
			return sum, err
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	for _, bucket := range order {
		s := sources[bucket]
		if s.snap == nil {
			continue
		}
		b, err := a.strays(ctx, bucket, s)
		if err != nil {
			return sum, err
		}
		sum.Buckets = append(sum.Buckets, b)
	}
	return sum, nil
}

// checkRows finds which of rows the source reports list, then the trash
// report, then HEAD; what none finds is a row without an object.
func (a LMSAudit) checkRows(ctx context.Context, rows []LMSObject, source func(string) *sourceScan, trash *InventorySnapshot,
	sum *LMSAuditSummary, without func(LMSObject, string)) error {
	found := make([]bool, len(rows))
	byBucket := map[string]map[keyHash][]int32{}
	for i, r := range rows {
		if slices.Contains(LostStates(), r.State) {
			found[i] = true
			sum.Recorded++
			continue
		}
		if source(r.Bucket).snap == nil {
			found[i] = true
			sum.Unchecked++
			continue
		}
		if byBucket[r.Bucket] == nil {
			byBucket[r.Bucket] = map[keyHash][]int32{}
		}
		k := hashKey(r.Key)
		byBucket[r.Bucket][k] = append(byBucket[r.Bucket][k], int32(i))
	}
	for bucket, keys := range byBucket {
		s := source(bucket)
		var i int64 = -1
		for row, err := range s.snap.Rows(ctx) {
			if err != nil {
				return fmt.Errorf("read the inventory report %s: %w", s.snap.Where, err)
			}
			i++
			if !row.current() {
				continue
			}
			if idx, ok := keys[hashKey(row.Key)]; ok {
				s.mark(i)
				for _, j := range idx {
					found[j] = true
				}
			}
		}
	}
	// Moved objects: in the trash bucket's report.
	inTrash := map[keyHash][]int32{}
	for i, r := range rows {
		if !found[i] && r.TrashKey != "" && cmp.Or(r.TrashBucket, a.TrashBucket) == a.TrashBucket {
			k := hashKey(r.TrashKey)
			inTrash[k] = append(inTrash[k], int32(i))
		}
	}
	if trash != nil && len(inTrash) > 0 {
		for row, err := range trash.Rows(ctx) {
			if err != nil {
				return fmt.Errorf("read the inventory report %s: %w", trash.Where, err)
			}
			if row.current() {
				for _, j := range inTrash[hashKey(row.Key)] {
					found[j] = true
				}
			}
		}
	}
	// What no report lists may have come since: HEAD before reporting.
	workers := newPool(a.Concurrency)
	defer workers.Close()
	var mu sync.Mutex
	for i, r := range rows {
		if found[i] {
			continue
		}
		workers.Go(func() {
			heads, gone, detail, err := a.lookFor(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			sum.Headed += heads
			switch {
			case err != nil:
				sum.Unchecked++
				if len(sum.Notes) < 20 {
					sum.Notes = append(sum.Notes, fmt.Sprintf("LMS row %d: %v", r.LMSID, err))
				}
			case gone:
				sum.WithoutObject++
				without(r, detail)
			}
		})
	}
	workers.Wait()
	return ctx.Err()
}

// lookFor looks with HEAD for row's object at its key and at its trash
// copy: gone when neither is there.
func (a LMSAudit) lookFor(ctx context.Context, r LMSObject) (heads int, gone bool, detail string, err error) {
	heads++
	_, err = a.Objects.Head(ctx, r.Bucket, r.Key)
	switch {
	case err == nil:
		return heads, false, "", nil
	case !errors.Is(err, ErrNotFound):
		return heads, false, "", fmt.Errorf("look at s3://%s/%s: %w", r.Bucket, r.Key, err)
	}
	where := fmt.Sprintf("s3://%s/%s does not exist", r.Bucket, r.Key)
	if r.TrashKey != "" {
		tb := cmp.Or(r.TrashBucket, a.TrashBucket)
		heads++
		_, err = a.Objects.Head(ctx, tb, r.TrashKey)
		switch {
		case err == nil:
			return heads, false, "", nil
		case !errors.Is(err, ErrNotFound):
			return heads, false, "", fmt.Errorf("look at s3://%s/%s: %w", tb, r.TrashKey, err)
		}
		where += fmt.Sprintf(", nor its trash copy s3://%s/%s", tb, r.TrashKey)
	}
	state := "no record (trashd never moved it)"
	if r.State != "" {
		state = "record " + string(r.State)
	}
	trashed := "live"
	if r.Trashed {
		trashed = "trashed"
	}
	return heads, true, fmt.Sprintf("%s row: %s; %s", trashed, where, state), nil
}

// strays streams bucket's report once more and sums the current objects
// that no LMS row named.
func (a LMSAudit) strays(ctx context.Context, bucket string, s *sourceScan) (LMSBucketAudit, error) {
	b := LMSBucketAudit{Bucket: bucket, Report: s.snap.Where, Created: s.snap.Created}
	classes := map[string]*ClassUsage{}
	var i int64 = -1
	for row, err := range s.snap.Rows(ctx) {
		if err != nil {
			return b, fmt.Errorf("read the inventory report %s: %w", s.snap.Where, err)
		}
		i++
		if !row.current() {
			continue
		}
		b.Objects++
		if s.marked(i) {
			continue
		}
		b.Strays++
		b.StrayBytes += row.Size
		class := cmp.Or(row.StorageClass, "STANDARD")
		if classes[class] == nil {
			classes[class] = &ClassUsage{Class: class}
		}
		classes[class].Objects++
		classes[class].Bytes += row.Size
		if a.Oldest > 0 {
			b.Oldest = append(b.Oldest, StrayObject{Bucket: bucket, Key: row.Key, Size: row.Size, StorageClass: class, LastModified: row.LastModified})
			if len(b.Oldest) >= 2*a.Oldest {
				b.Oldest = oldestFirst(b.Oldest, a.Oldest)
			}
		}
	}
	b.Oldest = oldestFirst(b.Oldest, a.Oldest)
	var usage []ClassUsage
	for _, u := range classes {
		usage = append(usage, *u)
	}
	slices.SortFunc(usage, func(x, y ClassUsage) int { return cmp.Compare(x.Class, y.Class) })
	b.StrayCost = EstimateCost(usage, a.Prices).Monthly
	return b, ctx.Err()
}

// oldestFirst keeps the n oldest of list, oldest first.
func oldestFirst(list []StrayObject, n int) []StrayObject {
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].LastModified.Before(list[j].LastModified) ||
			(list[i].LastModified.Equal(list[j].LastModified) && list[i].Key < list[j].Key)
	})
	return list[:min(len(list), n)]
}
