package main

import (
	"fmt"
	"time"

	"trashd/reconcile"
)

// defaultInventoryID is the id of the inventory configuration that
// `trashd lifecycle --apply` puts on the trash bucket.
const defaultInventoryID = "trashd-inventory"

// inventoryVariables are where S3 Inventory reports land;
// reconcile.InventoryConfig.Validate checks them.
func inventoryVariables() []variable {
	return []variable{
		stringVar("TRASHD_INVENTORY_BUCKET", "", "the bucket the trash bucket's S3 Inventory reports are delivered to (not the trash bucket, whose lifecycle rule would archive them); empty: no inventory, transitions are confirmed with HEAD alone. With one, passes confirm transitions from the newest report and HEAD only what it cannot confirm, and `trashd audit --inventory` checks every record against it", func(c *Config) *string { return &c.Inventory.Trash.Bucket }),
		stringVar("TRASHD_INVENTORY_PREFIX", "", "the destination prefix of the trash bucket's inventory configuration (reports land under `prefix/trash-bucket/id/`)", func(c *Config) *string { return &c.Inventory.Trash.Prefix }),
		stringVar("TRASHD_INVENTORY_ID", defaultInventoryID, "the id of the trash bucket's inventory configuration, which `trashd lifecycle --apply` puts", func(c *Config) *string { return &c.Inventory.Trash.ID }),
		durationVar("TRASHD_INVENTORY_MAX_AGE", reconcile.DefaultInventoryMaxAge, "a report older than this is not used: passes confirm with HEAD and warn, and `audit --inventory` refuses it", func(c *Config) *time.Duration { return &c.Inventory.MaxAge }),
		stringVar("TRASHD_SOURCE_INVENTORY_BUCKET", "", "the bucket the LMS's source buckets' inventory reports are delivered to (not the trash bucket), for `trashd audit --lms` (objects no LMS row names, LMS rows without an object) and `audit --inventory`; empty: none", func(c *Config) *string { return &c.Inventory.Sources.Bucket }),
		stringVar("TRASHD_SOURCE_INVENTORY_PREFIX", "", "the destination prefix of the source buckets' inventory configuration (each source bucket's reports land under `prefix/source-bucket/id/`)", func(c *Config) *string { return &c.Inventory.Sources.Prefix }),
		stringVar("TRASHD_SOURCE_INVENTORY_ID", defaultInventoryID, "the id of the source buckets' inventory configuration", func(c *Config) *string { return &c.Inventory.Sources.ID }),
	}
}

// checkInventoryBuckets refuses a report destination that is the trash
// bucket itself: the lifecycle rule would archive the reports, which trashd
// then could not read.
func checkInventoryBuckets(p *problems, c Config) {
	trash := c.Reconcile.TrashBucket
	if trash == "" {
		return
	}
	for _, v := range []struct{ name, bucket string }{
		{"TRASHD_INVENTORY_BUCKET", c.Inventory.Trash.Bucket},
		{"TRASHD_SOURCE_INVENTORY_BUCKET", c.Inventory.Sources.Bucket},
	} {
		if v.bucket == trash {
			p.add(v.name, fmt.Sprintf("%q is TRASHD_TRASH_BUCKET: inventory reports delivered to the trash bucket would be archived by its lifecycle rule; "+
				"deliver them to a bucket of their own and set %s to it", v.bucket, v.name))
		}
	}
}
