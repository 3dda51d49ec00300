package main

import (
	"context"
	"fmt"
	"time"

	"trashd/db"
)

// leaseNote says that LMS row lmsID's record is being worked on by a pass,
// by whom and until when, for a command that could not act on it
// meanwhile; "" when nobody holds its lease. A record without a reason of
// its own would otherwise read as an error with nothing after the colon.
func leaseNote(ctx context.Context, store *db.Store, lmsID int64) string {
	h, held, err := store.LeaseOf(ctx, lmsID)
	if err != nil || !held {
		return ""
	}
	return fmt.Sprintf("it is being worked on by a pass: leased by %s until %s (in %s; the pass renews the lease while it works on it): "+
		"try again once that pass has ended, or after that time if the pass stopped",
		escapeKey(h.Owner), h.Until.UTC().Format("2006-01-02 15:04:05 MST"), h.Left.Round(time.Second))
}
