// Package inventories serves reconcile's Inventories port from S3 Inventory
// reports, read by package inventory: it names where each bucket's reports
// land, finds the newest complete one, and turns its rows into reconcile's.
package inventories

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path"

	"trashd/inventory"
	"trashd/reconcile"
)

// Reports finds the newest report of the trash bucket or a source bucket.
type Reports struct {
	Store  inventory.Store
	Trash  string // the trash bucket's name
	Config reconcile.InventoryConfig
}

var _ reconcile.Inventories = Reports{}

// Location is where bucket's reports land: the trash bucket's place for the
// trash bucket, the sources' place for any other; false when that place is
// not configured.
func (r Reports) Location(bucket string) (inventory.Location, bool) {
	place := r.Config.Sources
	if bucket == r.Trash {
		place = r.Config.Trash
	}
	if !place.Set() {
		return inventory.Location{}, false
	}
	return inventory.Location{Bucket: place.Bucket, Prefix: place.Prefix, SourceBucket: bucket, ConfigID: place.ID}, true
}

// needed are the fields a report must carry for trashd to use it.
const needed = inventory.FieldSize | inventory.FieldETag | inventory.FieldStorageClass

// Newest finds bucket's newest complete report (the manifest and its
// checksum checked; each data file's MD5 as it is read).
func (r Reports) Newest(ctx context.Context, bucket string) (reconcile.InventorySnapshot, error) {
	loc, ok := r.Location(bucket)
	if !ok {
		return reconcile.InventorySnapshot{}, reconcile.ErrNoInventory
	}
	rep, err := inventory.Latest(ctx, r.Store, loc)
	if err != nil {
		return reconcile.InventorySnapshot{}, fmt.Errorf("the inventory of %s: %w", bucket, err)
	}
	at := where(loc, rep.Date)
	return reconcile.InventorySnapshot{
		Bucket:  bucket,
		Created: rep.Created,
		Where:   at,
		Rows: func(ctx context.Context) iter.Seq2[reconcile.InventoryRow, error] {
			return rows(ctx, r.Store, rep, at)
		},
	}, nil
}

// errStop ends a walk of rows that the consumer stopped.
var errStop = errors.New("stop")

func rows(ctx context.Context, s inventory.Store, rep *inventory.Report, at string) iter.Seq2[reconcile.InventoryRow, error] {
	return func(yield func(reconcile.InventoryRow, error) bool) {
		first := true
		err := rep.Rows(ctx, s, func(row inventory.Row) error {
			if first {
				first = false
				if row.Has&needed != needed {
					return fmt.Errorf("the report %s lacks Size, ETag or StorageClass: configure the inventory with those fields "+
						"(`trashd lifecycle --apply` puts one on the trash bucket that has them)", at)
				}
			}
			latest := row.IsLatest || row.Has&inventory.FieldVersion == 0
			if !yield(reconcile.InventoryRow{Key: row.Key, VersionID: row.VersionID, IsLatest: latest, DeleteMarker: row.IsDeleteMarker,
				Size: row.Size, ETag: row.ETag, StorageClass: row.StorageClass, LastModified: row.LastModified}, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(reconcile.InventoryRow{}, err)
		}
	}
}

// where is the s3:// address of loc's reports, of one date's when date is
// set.
func where(loc inventory.Location, date string) string {
	return "s3://" + loc.Bucket + "/" + path.Join(loc.Prefix, loc.SourceBucket, loc.ConfigID, date) + "/"
}
