package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"trashd/reconcile"
)

var (
	_ reconcile.Recorder = (*Store)(nil)
	_ reconcile.Sharing  = (*Store)(nil)
)

// maxBatchRows bounds the rows of one batched statement (its placeholders
// stay far below the protocol's 65,535).
const maxBatchRows = 500

// RecordBatch applies steps[i] to recs[i], as Record does, in as few
// UPDATEs as the steps allow: records whose steps set the same columns share
// one statement, in which each column that differs between them is a CASE on
// the id, and each row is fenced on its own lease token (the WHERE names
// every (id, lease_token) pair). A record whose lease is no longer held is
// left as it is, and its error is reconcile.ErrLeaseLost.
//
// When the statement matched fewer rows than it named, the rows are read
// back to tell which: a row that still has its token was written; for a step
// that gives the lease up, a row without a token in the step's state was
// written (another holder would have had to take the lease and finish the
// same step meanwhile for this to be wrong, and then it did the same thing).
func (s *Store) RecordBatch(ctx context.Context, recs []reconcile.Record, steps []reconcile.Step) []error {
	errs := make([]error, len(recs))
	if len(steps) != len(recs) {
		for i := range errs {
			errs[i] = fmt.Errorf("record a batch: %d steps for %d records", len(steps), len(recs))
		}
		return errs
	}
	type member struct {
		i    int
		args []any
	}
	groups := map[string][]member{}
	var order []string
	for i, rec := range recs {
		set, args, err := stepSet(rec, steps[i])
		switch {
		case err != nil:
			errs[i] = err
			continue
		case rec.Lease.Token == "":
			errs[i] = fmt.Errorf("record %d as %s: %w", rec.ID, steps[i].To, reconcile.ErrLeaseLost)
			continue
		}
		// The state is an argument: a group is one state too, for the
		// read-back after a partial match.
		key := set + "\x00" + string(steps[i].To)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], member{i, args})
	}
	for _, key := range order {
		set, _, _ := strings.Cut(key, "\x00")
		for chunk := range slices.Chunk(groups[key], maxBatchRows) {
			rows := make([]batchRow, len(chunk))
			for k, m := range chunk {
				rows[k] = batchRow{rec: recs[m.i], args: m.args}
			}
			releases := strings.Contains(set, "lease_token = NULL")
			for k, err := range s.updateBatch(ctx, set, rows, steps[chunk[0].i].To, releases) {
				if err != nil {
					errs[chunk[k].i] = fmt.Errorf("record %d as %s: %w", recs[chunk[k].i].ID, steps[chunk[k].i].To, err)
				}
			}
		}
	}
	return errs
}

// batchRow is one record of a batched UPDATE and its SET clause's arguments.
type batchRow struct {
	rec  reconcile.Record
	args []any
}

// updateBatch runs one fenced UPDATE of rows, which share set, and returns
// one error per row.
func (s *Store) updateBatch(ctx context.Context, set string, rows []batchRow, to reconcile.State, releases bool) []error {
	query, args := batchUpdateSQL(set, rows)
	var n int64
	err := retryDeadlock(ctx, func() error {
		res, err := s.db.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	errs := make([]error, len(rows))
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if int(n) == len(rows) {
		return errs
	}
	held, err := s.leaseHolders(ctx, rows)
	for i, r := range rows {
		switch h := held[r.rec.ID]; {
		case err != nil:
			errs[i] = fmt.Errorf("a batched write matched %d of %d rows, and reading them back failed: %w", n, len(rows), err)
		case h.token == r.rec.Lease.Token:
		case releases && h.token == "" && h.state == to:
		default:
			errs[i] = reconcile.ErrLeaseLost
		}
	}
	return errs
}

// batchUpdateSQL builds the UPDATE of rows that share set. set's items are
// "column = expression" with the expression's placeholders; an item whose
// arguments are the same for every row is written once, any other as
// CASE id WHEN <id> THEN <expression> … END.
func batchUpdateSQL(set string, rows []batchRow) (string, []any) {
	var (
		q    strings.Builder
		args []any
		at   int // the first argument of the item
	)
	q.WriteString("UPDATE trash_objects SET ")
	for i, item := range splitSet(set) {
		if i > 0 {
			q.WriteString(", ")
		}
		n := strings.Count(item, "?")
		same := true
		for _, r := range rows[1:] {
			if !slices.Equal(r.args[at:at+n], rows[0].args[at:at+n]) {
				same = false
				break
			}
		}
		if same {
			q.WriteString(item)
			args = append(args, rows[0].args[at:at+n]...)
		} else {
			col, expr, _ := strings.Cut(item, " = ")
			q.WriteString(col + " = CASE id")
			for _, r := range rows {
				q.WriteString(" WHEN ? THEN " + expr)
				args = append(args, r.rec.ID)
				args = append(args, r.args[at:at+n]...)
			}
			q.WriteString(" END")
		}
		at += n
	}
	q.WriteString(" WHERE id IN (" + placeholders(len(rows)) + ") AND (id, lease_token) IN (")
	for _, r := range rows {
		args = append(args, r.rec.ID)
	}
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, r.rec.ID, r.rec.Lease.Token)
	}
	q.WriteString(")")
	return q.String(), args
}

// splitSet splits a SET clause at its top-level commas.
func splitSet(set string) []string {
	var (
		items []string
		depth int
		start int
	)
	for i := 0; i < len(set); i++ {
		switch set[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, strings.TrimSpace(set[start:i]))
				start = i + 1
			}
		}
	}
	return append(items, strings.TrimSpace(set[start:]))
}

// leaseHolder is a record's lease token ("" for none) and state, as read
// back after a batched write.
type leaseHolder struct {
	token string
	state reconcile.State
}

func (s *Store) leaseHolders(ctx context.Context, rows []batchRow) (map[int64]leaseHolder, error) {
	args := make([]any, len(rows))
	for i, r := range rows {
		args[i] = r.rec.ID
	}
	res, err := s.db.QueryContext(ctx, "SELECT id, lease_token, state FROM trash_objects WHERE id IN ("+placeholders(len(rows))+")", args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	out := make(map[int64]leaseHolder, len(rows))
	for res.Next() {
		var (
			id    int64
			token sql.NullString
			state string
		)
		if err := res.Scan(&id, &token, &state); err != nil {
			return nil, err
		}
		out[id] = leaseHolder{token.String, reconcile.State(state)}
	}
	return out, res.Err()
}

// RenewLeases extends the leases of recs to d from now by the database
// clock, in one fenced UPDATE per chunk, as RenewLease does each: one error
// per record, reconcile.ErrLeaseLost for a lease no longer held.
func (s *Store) RenewLeases(ctx context.Context, recs []reconcile.Record, d time.Duration) []error {
	errs := make([]error, len(recs))
	if d < time.Microsecond {
		for i := range errs {
			errs[i] = fmt.Errorf("renew leases: %s is too short", d)
		}
		return errs
	}
	var rows []batchRow
	var at []int
	for i, rec := range recs {
		if rec.Lease.Token == "" {
			errs[i] = fmt.Errorf("renew lease of record %d: %w", rec.ID, reconcile.ErrLeaseLost)
			continue
		}
		rows = append(rows, batchRow{rec: rec, args: []any{d.Microseconds()}})
		at = append(at, i)
	}
	set := "lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND, updated_at = NOW(6)"
	for start := 0; start < len(rows); start += maxBatchRows {
		end := min(start+maxBatchRows, len(rows))
		for k, err := range s.updateBatch(ctx, set, rows[start:end], "", false) {
			if err != nil {
				i := at[start+k]
				errs[i] = fmt.Errorf("renew lease of record %d: %w", recs[i].ID, err)
			}
		}
	}
	return errs
}

// LiveRows is LiveRow for many objects: for each object an untrashed LMS
// row names, the smallest such row's id. The LMS table is asked once per
// bucket kind and chunk, by the key column's collation (so that its index
// serves); the rows it returns are then matched byte for byte, as LiveRow's
// query does in SQL.
func (s *Store) LiveRows(ctx context.Context, objs []reconcile.ObjectRef) (map[reconcile.ObjectRef]int64, error) {
	out := map[reconcile.ObjectRef]int64{}
	if s.live.skip {
		return out, nil
	}
	var keys []string
	want := map[reconcile.ObjectRef]bool{}
	for _, o := range objs {
		if s.lms.BucketColumn == "" && o.Bucket != s.lms.DefaultBucket {
			continue // every row is in the default bucket
		}
		if !want[o] {
			want[o] = true
			keys = append(keys, o.Key)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for chunk := range slices.Chunk(keys, maxBatchRows) {
		if err := s.liveRows(ctx, chunk, want, out); err != nil {
			return nil, fmt.Errorf("look for untrashed rows of %s naming %d objects: %w", s.lms.Table, len(objs), err)
		}
	}
	return out, nil
}

func (s *Store) liveRows(ctx context.Context, keys []string, want map[reconcile.ObjectRef]bool, out map[reconcile.ObjectRef]int64) error {
	bucket := "NULL"
	if s.lms.BucketColumn != "" {
		bucket = "l." + quote(s.lms.BucketColumn)
	}
	query := "SELECT l." + quote(s.lms.IDColumn) + ", l." + quote(s.lms.KeyColumn) + ", " + bucket +
		" FROM " + quote(s.lms.Table) + " AS l WHERE l." + quote(s.lms.KeyColumn) + " IN (" + placeholders(len(keys)) + ")" +
		" AND NOT COALESCE(" + s.lms.trashedSQL("l") + ", FALSE)"
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id          int64
			key, bucket sql.NullString
		)
		if err := rows.Scan(&id, &key, &bucket); err != nil {
			return err
		}
		// As ScanTrashed and LiveRow: a NULL or exactly empty bucket is
		// the default bucket.
		ref := reconcile.ObjectRef{Bucket: cmp.Or(bucket.String, s.lms.DefaultBucket), Key: key.String}
		if !key.Valid || !want[ref] {
			continue
		}
		if cur, ok := out[ref]; !ok || id < cur {
			out[ref] = id
		}
	}
	return rows.Err()
}

// EarlierMoves is EarlierMove for many records: for each record id of recs
// that has one, the LMS row of the record of the same object with the
// lowest id below it that is still to be moved (and not to be restored).
func (s *Store) EarlierMoves(ctx context.Context, recs []reconcile.Record) (map[int64]int64, error) {
	byBucket := map[string][]string{}
	var top int64
	for _, r := range recs {
		byBucket[r.Source.Bucket] = append(byBucket[r.Source.Bucket], r.Source.Key)
		top = max(top, r.ID)
	}
	type moving struct{ id, lmsID int64 }
	found := map[reconcile.ObjectRef][]moving{}
	for bucket, keys := range byBucket {
		slices.Sort(keys)
		keys = slices.Compact(keys)
		for chunk := range slices.Chunk(keys, maxBatchRows) {
			args := []any{bucket}
			for _, k := range chunk {
				args = append(args, k)
			}
			args = append(args, top)
			// The same condition as EarlierMove's.
			rows, err := s.db.QueryContext(ctx, "SELECT id, lms_id, source_key FROM trash_objects WHERE source_bucket = ? AND source_key IN ("+placeholders(len(chunk))+") AND id < ?"+
				" AND (state IN "+movingSQL+" OR (state = 'shared' AND lease_expires_at > NOW(6))) AND restore_requested_at IS NULL", args...)
			if err != nil {
				return nil, fmt.Errorf("look for earlier moves of %d objects in s3://%s: %w", len(chunk), bucket, err)
			}
			for rows.Next() {
				var (
					m   moving
					key string
				)
				if err := rows.Scan(&m.id, &m.lmsID, &key); err != nil {
					rows.Close()
					return nil, err
				}
				ref := reconcile.ObjectRef{Bucket: bucket, Key: key}
				found[ref] = append(found[ref], m)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("look for earlier moves in s3://%s: %w", bucket, err)
			}
		}
	}
	out := map[int64]int64{}
	for _, r := range recs {
		best := int64(-1)
		for _, m := range found[reconcile.ObjectRef{Bucket: r.Source.Bucket, Key: r.Source.Key}] {
			if m.id < r.ID && (best < 0 || m.id < best) {
				best = m.id
				out[r.ID] = m.lmsID
			}
		}
	}
	return out, nil
}

// MovedSince returns, of recs, the records of an object that another
// record's verified trash copy now holds, its source deleted after the
// record was discovered: CopyOf with MovedAfter, for many records at once.
// On a versioned bucket the key of such a record may now show an older
// version made current, which is not the file its row named; the move of
// one object adopts that copy instead (adoptCopyOf).
func (s *Store) MovedSince(ctx context.Context, recs []reconcile.Record) (map[int64]bool, error) {
	out := map[int64]bool{}
	for chunk := range slices.Chunk(recs, maxBatchRows) {
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = r.ID
		}
		// The same conditions as CopyOf's.
		ids, err := s.selectIDs(ctx, "SELECT DISTINCT r.id FROM trash_objects AS r JOIN trash_objects AS o"+
			" ON o.source_bucket = r.source_bucket AND o.source_key = r.source_key AND o.id <> r.id"+
			" AND CAST(o.source_key AS BINARY) = CAST(r.source_key AS BINARY)"+ // utf8mb4_bin pads with spaces
			" WHERE r.id IN ("+placeholders(len(chunk))+")"+
			" AND o.source_deleted_at IS NOT NULL AND o.trash_key IS NOT NULL AND o.trash_etag IS NOT NULL"+
			" AND o.state IN "+copyHolderSQL+" AND o.source_deleted_at >= r.discovered_at", args...)
		if err != nil {
			return nil, fmt.Errorf("look for other records' copies of %d objects: %w", len(chunk), err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}
