package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
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
	// PartitionSize is how many of the LMS rows' keys the audit holds in
	// memory at once; more are joined with the reports partition by
	// partition through temporary files. 0: DefaultJoinPartition.
	PartitionSize int
}

// trashIndex is the trash bucket's place in the LMS audit's join, apart
// from the source buckets' (whose rows may be strays).
const trashIndex = math.MaxUint32

// rowHasTime: a report row's LastModified is set.
const rowHasTime = 2

// strayTally sums one source bucket's strays as the join finds them.
type strayTally struct {
	b       LMSBucketAudit
	classes map[string]*ClassUsage
}

// Run audits, calling without for each row whose object is in neither
// bucket. The LMS rows are read once, in id order, and each report once,
// whatever their number (see hashJoin); the strays come out of the same
// join.
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
	sources := map[string]*InventorySnapshot{}
	buckets := &bucketTable{index: map[string]uint32{}} // the source buckets, in the order first named
	source := func(bucket string) *InventorySnapshot {
		if s, ok := sources[bucket]; ok {
			return s
		}
		snap, err := report(bucket)
		if err != nil {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: %v; its rows were not checked", bucket, err))
		}
		sources[bucket] = snap
		buckets.of(bucket)
		return snap
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
	dir := &spillDir{}
	defer dir.Close()
	partSize := cmp.Or(a.PartitionSize, DefaultJoinPartition)
	inTrash := func(r LMSObject) bool {
		return trash != nil && r.TrashKey != "" && cmp.Or(r.TrashBucket, a.TrashBucket) == a.TrashBucket
	}

	// The LMS rows, once, in id order: kept to be looked for after the
	// join, and their keys counted to size its partitions.
	rows := &ordered[LMSObject]{dir: dir, limit: partSize}
	var found bitset // rows found in a report, or not to be looked for
	var entries int64
	for after := BeforeFirstLMSID; ctx.Err() == nil; {
		page, err := a.Rows.LMSObjects(ctx, after, 1000)
		if err != nil {
			return sum, fmt.Errorf("read LMS rows after id %d: %w", after, err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].LMSID
		for _, r := range page {
			seq := rows.n
			if err := rows.add(r); err != nil {
				return sum, err
			}
			switch {
			case slices.Contains(LostStates(), r.State):
				found.set(seq)
				sum.Recorded++
			case source(r.Bucket) == nil:
				found.set(seq)
				sum.Unchecked++
			default:
				entries++
				if inTrash(r) {
					entries++
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	sum.Rows = int(rows.n)

	strays := make([]*strayTally, len(buckets.names))
	for i, bucket := range buckets.names {
		if snap := sources[bucket]; snap != nil {
			strays[i] = &strayTally{b: LMSBucketAudit{Bucket: bucket, Report: snap.Where, Created: snap.Created}, classes: map[string]*ClassUsage{}}
		}
	}
	join, err := newHashJoin(dir, entries, partSize, func(row joinEntry, named []joinEntry) error {
		for _, n := range named {
			found.set(n.seq)
		}
		if len(named) == 0 && row.at.bucket != trashIndex {
			a.addStray(strays[row.at.bucket], row)
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	trashNamed := false
	if err := rows.each(func(seq int64, r LMSObject) error {
		if found.has(seq) {
			return nil
		}
		if err := join.addBuild(joinEntry{at: joinKey{bucket: buckets.of(r.Bucket), key: hashKey(r.Key)}, seq: seq}); err != nil {
			return err
		}
		if inTrash(r) {
			trashNamed = true
			return join.addBuild(joinEntry{at: joinKey{bucket: trashIndex, key: hashKey(r.TrashKey)}, seq: seq})
		}
		return nil
	}); err != nil {
		return sum, err
	}
	// Each source bucket's report once, and the trash bucket's if a
	// moved object may be in it.
	stream := func(snap *InventorySnapshot, idx uint32, keep bool) error {
		for row, err := range snap.Rows(ctx) {
			if err != nil {
				return fmt.Errorf("read the inventory report %s: %w", snap.Where, err)
			}
			if !row.current() {
				continue
			}
			e := joinEntry{at: joinKey{bucket: idx, key: hashKey(row.Key)}}
			if keep {
				strays[idx].b.Objects++
				e.size, e.class, e.name = row.Size, cmp.Or(row.StorageClass, "STANDARD"), row.Key
				if !row.LastModified.IsZero() {
					e.when, e.flags = row.LastModified.UnixNano(), rowHasTime
				}
			}
			if err := join.addProbe(e); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	for idx, bucket := range buckets.names {
		if snap := sources[bucket]; snap != nil {
			if err := stream(snap, uint32(idx), true); err != nil {
				return sum, err
			}
		}
	}
	if trashNamed {
		if err := stream(trash, trashIndex, false); err != nil {
			return sum, err
		}
	}
	if err := join.finish(); err != nil {
		return sum, err
	}
	for _, st := range strays {
		if st == nil {
			continue
		}
		st.b.Oldest = oldestFirst(st.b.Oldest, a.Oldest)
		var usage []ClassUsage
		for _, u := range st.classes {
			usage = append(usage, *u)
		}
		slices.SortFunc(usage, func(x, y ClassUsage) int { return cmp.Compare(x.Class, y.Class) })
		st.b.StrayCost = EstimateCost(usage, a.Prices).Monthly
		sum.Buckets = append(sum.Buckets, st.b)
	}

	// What no report lists may have come since: HEAD before reporting.
	workers := newPool(a.Concurrency)
	defer workers.Close()
	var mu sync.Mutex
	err = rows.each(func(seq int64, r LMSObject) error {
		if found.has(seq) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
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
		return nil
	})
	workers.Wait()
	if err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

// addStray counts row, a current object no LMS row names, in st.
func (a LMSAudit) addStray(st *strayTally, row joinEntry) {
	st.b.Strays++
	st.b.StrayBytes += row.size
	if st.classes[row.class] == nil {
		st.classes[row.class] = &ClassUsage{Class: row.class}
	}
	st.classes[row.class].Objects++
	st.classes[row.class].Bytes += row.size
	if a.Oldest > 0 {
		var when time.Time
		if row.flags&rowHasTime != 0 {
			when = time.Unix(0, row.when).UTC()
		}
		st.b.Oldest = append(st.b.Oldest, StrayObject{Bucket: st.b.Bucket, Key: row.name, Size: row.size, StorageClass: row.class, LastModified: when})
		if len(st.b.Oldest) >= 2*a.Oldest {
			st.b.Oldest = oldestFirst(st.b.Oldest, a.Oldest)
		}
	}
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

// oldestFirst keeps the n oldest of list, oldest first.
func oldestFirst(list []StrayObject, n int) []StrayObject {
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].LastModified.Before(list[j].LastModified) ||
			(list[i].LastModified.Equal(list[j].LastModified) && list[i].Key < list[j].Key)
	})
	return list[:min(len(list), n)]
}
