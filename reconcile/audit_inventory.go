package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// InventoryAudit checks every record against the newest inventory reports
// instead of one HEAD per object: a record whose object the report lists
// intact where the record says is counted checked without a request; only a
// record the report disagrees with (other bytes, another class than an
// archived record's, not listed, or a bucket without a usable report) is
// looked at with HEAD, as Audit looks, before anything is reported.
type InventoryAudit struct {
	Records      RecordLister
	Reports      Inventories
	Objects      ObjectStore
	TrashBucket  string
	ArchiveClass string // the rule's class: an archived record's copy must be in it or another archive class
	Concurrency  int
	MaxAge       time.Duration // a report older than this is refused (the trash bucket's) or not used (a source bucket's)
	Now          func() time.Time
	// Options are Audit's (RecordGone), for the records looked at with HEAD.
	Options []AuditOption
	// PartitionSize is how many of the records' places the audit holds in
	// memory at once; more are joined with the reports partition by
	// partition through temporary files. 0: DefaultJoinPartition.
	PartitionSize int
}

// InventoryAuditSummary is an audit's summary with what the reports did.
type InventoryAuditSummary struct {
	AuditSummary
	FromReports int      // records the reports showed intact: no request sent
	Headed      int      // records looked at with HEAD
	Reports     []string // the reports used
	Notes       []string // source buckets whose records were HEADed, and why
}

// Flags of a record's place (build side) and of a report row (probe side).
const (
	placeAnyBytes     = 1 << iota // any object there is the record's (not copied yet)
	placeWantArchived             // the record says archived: the row's class must say so too
)

const rowArchived = 1 // the row's class is an archive class

// Run audits every record, reporting each problem and unverifiable record
// as Audit does. The records are read once, in id order, and each report
// once, whatever their number (see hashJoin).
func (a InventoryAudit) Run(ctx context.Context, report func(rec Record, result AuditResult, detail string)) (InventoryAuditSummary, error) {
	var sum InventoryAuditSummary
	now := a.Now
	if now == nil {
		now = time.Now
	}
	trash, err := a.Reports.Newest(ctx, a.TrashBucket)
	switch {
	case errors.Is(err, ErrNoInventory):
		return sum, fmt.Errorf("the trash bucket %s has no inventory configured: set TRASHD_INVENTORY_BUCKET (and its prefix and id), or audit without --inventory", a.TrashBucket)
	case err != nil:
		return sum, err
	}
	if age := now().Sub(trash.Created); age > a.MaxAge {
		return sum, fmt.Errorf("the newest inventory report of %s (%s) was taken %s ago, more than TRASHD_INVENTORY_MAX_AGE (%s): "+
			"check the bucket's inventory delivery, or audit without --inventory", a.TrashBucket, trash.Where, age.Round(time.Second), a.MaxAge)
	}
	snaps := map[string]*InventorySnapshot{a.TrashBucket: &trash}
	sum.Reports = append(sum.Reports, trash.Where)
	snapshot := func(bucket string) *InventorySnapshot {
		if s, ok := snaps[bucket]; ok {
			return s
		}
		s, err := a.Reports.Newest(ctx, bucket)
		switch {
		case errors.Is(err, ErrNoInventory):
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: no inventory configured; its records are looked at with HEAD", bucket))
			snaps[bucket] = nil
		case err != nil:
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: %v; its records are looked at with HEAD", bucket, err))
			snaps[bucket] = nil
		case now().Sub(s.Created) > a.MaxAge:
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: the newest report (%s) is older than TRASHD_INVENTORY_MAX_AGE; its records are looked at with HEAD", bucket, s.Where))
			snaps[bucket] = nil
		default:
			snaps[bucket] = &s
			sum.Reports = append(sum.Reports, s.Where)
		}
		return snaps[bucket]
	}
	var o auditOptions
	for _, opt := range a.Options {
		opt(&o)
	}
	dir := &spillDir{}
	defer dir.Close()
	partSize := cmp.Or(a.PartitionSize, DefaultJoinPartition)

	// The records, once, in id order: kept to be looked at after the join,
	// and their places counted to size the join's partitions.
	buckets := &bucketTable{index: map[string]uint32{}}
	recs := &ordered[Record]{dir: dir, limit: partSize}
	var places int64
	for after := int64(0); ctx.Err() == nil; {
		page, err := a.Records.Records(ctx, after, 500)
		if err != nil {
			return sum, fmt.Errorf("read records after id %d: %w", after, err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		for _, rec := range page {
			if err := recs.add(rec); err != nil {
				return sum, err
			}
			a.places(rec, 0, snapshot, buckets, func(joinEntry) { places++ })
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	var intact, classOff bitset
	join, err := newHashJoin(dir, places, partSize, func(row joinEntry, ps []joinEntry) error {
		for _, p := range ps {
			switch {
			case p.flags&placeAnyBytes != 0:
				intact.set(p.seq)
			case row.size != p.size && p.size != SizeUnknown, row.etag != p.etag:
			case p.flags&placeWantArchived != 0 && row.flags&rowArchived == 0:
				classOff.set(p.seq)
			default:
				intact.set(p.seq)
			}
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	var addErr error
	if err := recs.each(func(seq int64, rec Record) error {
		a.places(rec, seq, snapshot, buckets, func(e joinEntry) {
			if addErr == nil {
				addErr = join.addBuild(e)
			}
		})
		return addErr
	}); err != nil {
		return sum, err
	}
	// Each report with places in it, once.
	for idx, bucket := range buckets.names {
		snap := snapshot(bucket)
		for row, err := range snap.Rows(ctx) {
			if err != nil {
				return sum, fmt.Errorf("read the inventory report %s: %w", snap.Where, err)
			}
			if row.DeleteMarker {
				continue
			}
			e := joinEntry{at: joinKey{bucket: uint32(idx)}, size: row.Size, etag: hashETag(row.ETag)}
			if inArchiveClass(row.StorageClass, a.ArchiveClass) {
				e.flags = rowArchived
			}
			if row.IsLatest {
				e.at.key = hashKey(row.Key)
				if err := join.addProbe(e); err != nil {
					return sum, err
				}
			}
			if row.VersionID != "" {
				e.at.key = hashKey(row.Key, row.VersionID)
				if err := join.addProbe(e); err != nil {
					return sum, err
				}
			}
		}
	}
	if err := join.finish(); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}

	// Every record again, in id order: what no report showed intact is
	// looked at with HEAD.
	tally := &auditTally{report: report}
	workers := newPool(a.Concurrency)
	defer workers.Close()
	err = recs.each(func(seq int64, rec Record) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if intact.has(seq) {
			sum.FromReports++
			tally.add(rec, verdict{result: AuditOK}, nil)
			return nil
		}
		if slices.Contains(LostStates(), rec.State) {
			tally.add(rec, verdict{result: auditSkipped}, nil)
			return nil
		}
		sum.Headed++
		offClass := classOff.has(seq)
		workers.Go(func() {
			v, lookErr := auditRecord(ctx, a.Objects, a.TrashBucket, rec)
			if lookErr == nil && v.gone {
				v, lookErr = o.recordGone(ctx, a.Objects, rec, v)
			}
			if lookErr == nil && v.result == AuditOK && offClass {
				v, lookErr = a.checkClass(ctx, rec)
			}
			tally.add(rec, v, lookErr)
		})
		return nil
	})
	workers.Wait()
	if err != nil && ctx.Err() == nil {
		return sum, err
	}
	sum.AuditSummary, err = tally.result(ctx)
	return sum, err
}

// bucketTable numbers the buckets a join's entries are in.
type bucketTable struct {
	index map[string]uint32
	names []string
}

func (t *bucketTable) of(bucket string) uint32 {
	i, ok := t.index[bucket]
	if !ok {
		i = uint32(len(t.names))
		t.index[bucket] = i
		t.names = append(t.names, bucket)
	}
	return i
}

// places calls add with each place where a report may list rec's object
// intact where rec says, in a bucket with a usable report.
func (a InventoryAudit) places(rec Record, seq int64, snapshot func(string) *InventorySnapshot, buckets *bucketTable, add func(joinEntry)) {
	put := func(bucket string, k keyHash, e joinEntry) {
		if snapshot(bucket) == nil {
			return
		}
		e.at, e.seq = joinKey{bucket: buckets.of(bucket), key: k}, seq
		add(e)
	}
	identity := recordedIdentity(rec)
	if slices.Contains(LostStates(), rec.State) {
		return
	}
	if rec.State == StateRestored {
		if identity.ETag != "" {
			put(rec.Source.Bucket, hashKey(cmp.Or(rec.RestoredKey, rec.Source.Key)),
				joinEntry{size: identity.Size, etag: hashETag(identity.ETag)})
		}
		return
	}
	if identity.ETag != "" {
		bucket, key := cmp.Or(rec.Copy.Bucket, a.TrashBucket), rec.TrashKey
		if rec.Copy.ETag != "" {
			key = cmp.Or(rec.Copy.Key, rec.TrashKey)
		}
		if key != "" {
			e := joinEntry{size: identity.Size, etag: hashETag(identity.ETag)}
			if rec.State == StateArchived {
				e.flags = placeWantArchived
			}
			put(bucket, hashKey(key), e)
		}
	}
	if slices.Contains(InTrashStates(), rec.State) || rec.State == StateOrphaned {
		return
	}
	src := rec.Source
	switch {
	case rec.State == StatePending || rec.State == StateShared:
		put(src.Bucket, hashKey(src.Key), joinEntry{flags: placeAnyBytes})
	case src.ETag == "":
	case src.VersionID != "":
		put(src.Bucket, hashKey(src.Key, src.VersionID), joinEntry{size: src.Size, etag: hashETag(src.ETag)})
	default:
		put(src.Bucket, hashKey(src.Key), joinEntry{size: src.Size, etag: hashETag(src.ETag)})
	}
}

// checkClass looks again at an archived record's copy that the report listed
// in another class than an archive class, once HEAD found it intact: a
// problem only if HEAD says so too.
func (a InventoryAudit) checkClass(ctx context.Context, rec Record) (verdict, error) {
	bucket, key := cmp.Or(rec.Copy.Bucket, a.TrashBucket), cmp.Or(rec.Copy.Key, rec.TrashKey)
	obj, err := a.Objects.Head(ctx, bucket, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return verdict{result: AuditOK}, nil // the source held it: auditRecord said so
	case err != nil:
		return verdict{}, fmt.Errorf("look at s3://%s/%s: %w", bucket, key, err)
	case inArchiveClass(obj.StorageClass, a.ArchiveClass):
		return verdict{result: AuditOK}, nil
	}
	return verdict{result: AuditProblem, detail: fmt.Sprintf("archived: s3://%s/%s is in %s, by the inventory report and by HEAD, not in %s",
		bucket, key, cmp.Or(obj.StorageClass, "STANDARD"), a.ArchiveClass)}, nil
}
