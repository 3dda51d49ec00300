package glacier

import (
	"testing"
	"time"
)

// StartAt is Start with a clock of the test's own.
func StartAt(tb testing.TB, cfg Config, now func() time.Time) *Server {
	tb.Helper()
	return start(tb, cfg, now)
}
