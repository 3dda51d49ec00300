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
}

// InventoryAuditSummary is an audit's summary with what the reports did.
type InventoryAuditSummary struct {
	AuditSummary
	FromReports int      // records the reports showed intact: no request sent
	Headed      int      // records looked at with HEAD
	Reports     []string // the reports used
	Notes       []string // source buckets whose records were HEADed, and why
}

// auditChunk bounds the records an inventory audit holds while it streams
// the reports past them.
const auditChunk = 1 << 17

// place is where a record's object may be found intact in a report.
type place struct {
	rec          int32
	size         int64
	etag         etagHash
	anyBytes     bool // any object there is the record's (not copied yet)
	wantArchived bool // the record says archived: the row's class must say so too
}

// Run audits every record, reporting each problem and unverifiable record
// as Audit does.
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
	tally := &auditTally{report: report}
	workers := newPool(a.Concurrency)
	defer workers.Close()
	var after int64
	for done := false; !done && ctx.Err() == nil; {
		var recs []Record
		for len(recs) < auditChunk {
			page, err := a.Records.Records(ctx, after, 500)
			if err != nil {
				workers.Wait()
				return sum, fmt.Errorf("read records after id %d: %w", after, err)
			}
			if len(page) == 0 {
				done = true
				break
			}
			after = page[len(page)-1].ID
			recs = append(recs, page...)
		}
		intact, classOff, err := a.checkChunk(ctx, recs, snapshot)
		if err != nil {
			workers.Wait()
			return sum, err
		}
		for i, rec := range recs {
			if intact[i] {
				sum.FromReports++
				tally.add(rec, verdict{result: AuditOK}, nil)
				continue
			}
			if slices.Contains(LostStates(), rec.State) {
				tally.add(rec, verdict{result: auditSkipped}, nil)
				continue
			}
			sum.Headed++
			workers.Go(func() {
				v, lookErr := auditRecord(ctx, a.Objects, a.TrashBucket, rec)
				if lookErr == nil && v.gone {
					v, lookErr = o.recordGone(ctx, a.Objects, rec, v)
				}
				if lookErr == nil && v.result == AuditOK && classOff[i] {
					v, lookErr = a.checkClass(ctx, rec)
				}
				tally.add(rec, v, lookErr)
			})
		}
		workers.Wait()
	}
	workers.Wait()
	sum.AuditSummary, err = tally.result(ctx)
	return sum, err
}

// checkChunk streams the reports of the buckets recs name past them and
// says which records a report lists intact where they say, and which are
// archived records whose copy the report lists in another class.
func (a InventoryAudit) checkChunk(ctx context.Context, recs []Record, snapshot func(string) *InventorySnapshot) (intact, classOff []bool, err error) {
	intact, classOff = make([]bool, len(recs)), make([]bool, len(recs))
	places := map[string]map[keyHash][]place{} // bucket: key (and version): places
	add := func(bucket string, k keyHash, p place) {
		if snapshot(bucket) == nil {
			return
		}
		if places[bucket] == nil {
			places[bucket] = map[keyHash][]place{}
		}
		places[bucket][k] = append(places[bucket][k], p)
	}
	for i, rec := range recs {
		i32 := int32(i)
		identity := recordedIdentity(rec)
		if slices.Contains(LostStates(), rec.State) {
			continue
		}
		switch rec.State {
		case StateRestored:
			if identity.ETag != "" {
				add(rec.Source.Bucket, hashKey(cmp.Or(rec.RestoredKey, rec.Source.Key)),
					place{rec: i32, size: identity.Size, etag: hashETag(identity.ETag)})
			}
			continue
		}
		if identity.ETag != "" {
			bucket, key := cmp.Or(rec.Copy.Bucket, a.TrashBucket), rec.TrashKey
			if rec.Copy.ETag != "" {
				key = cmp.Or(rec.Copy.Key, rec.TrashKey)
			}
			if key != "" {
				add(bucket, hashKey(key), place{rec: i32, size: identity.Size, etag: hashETag(identity.ETag), wantArchived: rec.State == StateArchived})
			}
		}
		if slices.Contains(InTrashStates(), rec.State) || rec.State == StateOrphaned {
			continue
		}
		src := rec.Source
		switch {
		case rec.State == StatePending || rec.State == StateShared:
			add(src.Bucket, hashKey(src.Key), place{rec: i32, anyBytes: true})
		case src.ETag == "":
		case src.VersionID != "":
			add(src.Bucket, hashKey(src.Key, src.VersionID), place{rec: i32, size: src.Size, etag: hashETag(src.ETag)})
		default:
			add(src.Bucket, hashKey(src.Key), place{rec: i32, size: src.Size, etag: hashETag(src.ETag)})
		}
	}
	match := func(ps []place, row InventoryRow) {
		for _, p := range ps {
			switch {
			case p.anyBytes:
				intact[p.rec] = true
			case row.Size != p.size || hashETag(row.ETag) != p.etag:
			case p.wantArchived && !inArchiveClass(row.StorageClass, a.ArchiveClass):
				classOff[p.rec] = true
			default:
				intact[p.rec] = true
			}
		}
	}
	for bucket, byKey := range places {
		snap := snapshot(bucket)
		for row, err := range snap.Rows(ctx) {
			if err != nil {
				return nil, nil, fmt.Errorf("read the inventory report %s: %w", snap.Where, err)
			}
			if row.DeleteMarker {
				continue
			}
			if row.IsLatest {
				match(byKey[hashKey(row.Key)], row)
			}
			if row.VersionID != "" {
				match(byKey[hashKey(row.Key, row.VersionID)], row)
			}
		}
	}
	for i := range recs {
		if intact[i] {
			classOff[i] = false
		}
	}
	return intact, classOff, ctx.Err()
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
