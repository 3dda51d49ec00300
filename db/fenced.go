package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"trashd/reconcile"
)

// maxBatchRows bounds the rows of one batched statement (its placeholders
// stay far below the protocol's 65,535).
const maxBatchRows = 500

// assignment is one "col = expr" of an UPDATE's SET clause, expr's
// placeholders bound to args.
type assignment struct {
	col, expr string
	args      []any
}

// setValue assigns the value v to col.
func setValue(col string, v any) assignment { return assignment{col, "?", []any{v}} }

// setSQL assigns the SQL expression expr to col.
func setSQL(col, expr string, args ...any) assignment { return assignment{col, expr, args} }

// fencedRow is the write of one record under its lease token.
type fencedRow struct {
	rec reconcile.Record
	set []assignment
	// releases: the write gives the lease up, leaving the record in state
	// to; the read-back after a partial match needs both to tell whether
	// this write is among those that matched.
	releases bool
	to       reconcile.State
}

// writeFenced writes rows, each fenced on its own lease token, in one
// UPDATE per shape of SET (the same columns and expressions) and chunk, and
// returns one error per row: reconcile.ErrLeaseLost for a record whose
// lease is no longer held, which is left as it is. q is the pool, or a
// transaction the caller commits.
func (s *Store) writeFenced(ctx context.Context, q querier, rows []fencedRow) []error {
	errs := make([]error, len(rows))
	groups := map[string][]int{}
	var order []string
	for i, r := range rows {
		if r.rec.Lease.Token == "" {
			errs[i] = reconcile.ErrLeaseLost
			continue
		}
		var shape strings.Builder
		for _, a := range r.set {
			shape.WriteString(a.col + " = " + a.expr + "\x00")
		}
		key := shape.String()
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		for chunk := range slices.Chunk(groups[key], maxBatchRows) {
			part := make([]fencedRow, len(chunk))
			for k, i := range chunk {
				part[k] = rows[i]
			}
			for k, err := range s.updateFenced(ctx, q, part) {
				errs[chunk[k]] = err
			}
		}
	}
	return errs
}

// updateFenced runs the UPDATE of rows, which share one shape of SET, and
// returns one error per row. It relies on CLIENT_FOUND_ROWS (see
// Options.config), so that a matched row counts even when no value changed.
//
// When the statement matched some but not all of its rows, they are read
// back to tell which: a row that still has its token was written; for a
// write that gives the lease up, a row without a token in the write's
// state was written (another holder would have had to take the lease and
// finish the same step meanwhile for this to be wrong, and then it did the
// same thing).
func (s *Store) updateFenced(ctx context.Context, q querier, rows []fencedRow) []error {
	query, args := fencedUpdateSQL(rows)
	retry := retryDeadlock
	if _, inTx := q.(*sql.Tx); inTx {
		// A deadlock rolls the whole transaction back: its caller retries
		// the transaction, never this statement alone.
		retry = func(_ context.Context, f func() error) error { return f() }
	}
	var n int64
	err := retry(ctx, func() error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	errs := make([]error, len(rows))
	switch {
	case err != nil:
		for i := range errs {
			errs[i] = err
		}
		return errs
	case int(n) == len(rows):
		return errs
	case n == 0:
		for i := range errs {
			errs[i] = reconcile.ErrLeaseLost
		}
		return errs
	}
	held, err := leaseHolders(ctx, q, rows)
	for i, r := range rows {
		switch h := held[r.rec.ID]; {
		case err != nil:
			errs[i] = fmt.Errorf("a batched write matched %d of %d rows, and reading them back failed: %w", n, len(rows), err)
		case h.token == r.rec.Lease.Token:
		case r.releases && h.token == "" && h.state == r.to:
		default:
			errs[i] = reconcile.ErrLeaseLost
		}
	}
	return errs
}

// fencedUpdateSQL builds the UPDATE of rows, which share one shape of SET.
// An assignment whose arguments are the same for every row is written once,
// any other as CASE id WHEN <id> THEN <expression> … END.
func fencedUpdateSQL(rows []fencedRow) (string, []any) {
	var (
		q    strings.Builder
		args []any
	)
	q.WriteString("UPDATE trash_objects SET ")
	for j, a := range rows[0].set {
		if j > 0 {
			q.WriteString(", ")
		}
		same := !slices.ContainsFunc(rows[1:], func(r fencedRow) bool { return !slices.Equal(r.set[j].args, a.args) })
		if same {
			q.WriteString(a.col + " = " + a.expr)
			args = append(args, a.args...)
			continue
		}
		q.WriteString(a.col + " = CASE id")
		for _, r := range rows {
			q.WriteString(" WHEN ? THEN " + a.expr)
			args = append(append(args, r.rec.ID), r.set[j].args...)
		}
		q.WriteString(" END")
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

// leaseHolder is a record's lease token ("" for none) and state, as read
// back after a fenced write.
type leaseHolder struct {
	token string
	state reconcile.State
}

func leaseHolders(ctx context.Context, q querier, rows []fencedRow) (map[int64]leaseHolder, error) {
	args := make([]any, len(rows))
	for i, r := range rows {
		args[i] = r.rec.ID
	}
	res, err := q.QueryContext(ctx, "SELECT id, lease_token, state FROM trash_objects WHERE id IN ("+placeholders(len(rows))+")", args...)
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

// querier runs statements: the pool, or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
