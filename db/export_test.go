package db

// LiveQuery is the query LiveRow runs for bucket and key, for tests that
// EXPLAIN it.
func (s *Store) LiveQuery(bucket, key string) (string, []any) { return s.liveQuery(bucket, key) }

// BinlogProblem is binlogProblem, for a table test of the servers it refuses.
var BinlogProblem = binlogProblem
