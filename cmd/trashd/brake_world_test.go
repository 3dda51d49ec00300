package main_test

import (
	"fmt"
	"strings"
	"testing"

	"trashd/internal/testworld"
)

// addLiveRows adds n live rows (not trashed, no object) to env's LMS table,
// so that a test's trash is the share of an LMS a normal day has: most of
// an LMS's files are live, and a pass that would move most of the table
// stops at the mass-change brake.
func addLiveRows(t *testing.T, env *testworld.Env, n int) {
	t.Helper()
	for done := 0; done < n; {
		chunk := min(n-done, 1000)
		values := make([]string, chunk)
		args := make([]any, chunk)
		for i := range chunk {
			values[i] = "(?, 0)"
			args[i] = fmt.Sprintf("live/%06d", done+i)
		}
		_, err := env.DB.ExecContext(t.Context(), "INSERT INTO files (s3_key, trashed) VALUES "+strings.Join(values, ", "), args...)
		testworld.Must(t, err)
		done += chunk
	}
}
