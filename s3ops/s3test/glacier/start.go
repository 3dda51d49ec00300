package glacier

import (
	"cmp"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// Start starts a layer for a test: an httptest server on 127.0.0.1:0 (its
// URL in Server.URL) and Run in the background, both stopped when the test
// ends. A Config without Target or credentials gets the test server's,
// from TRASHD_TEST_S3_ENDPOINT, TRASHD_TEST_S3_ACCESS_KEY and
// TRASHD_TEST_S3_SECRET_KEY (dev-up's values when unset). The layer's log
// goes to the test's log. Give the Config a Clock to move the layer's time
// on with Advance instead of waiting.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	cfg.Target = cmp.Or(cfg.Target, os.Getenv("TRASHD_TEST_S3_ENDPOINT"), "http://127.0.0.1:8333")
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey = cmp.Or(os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), "trashd-dev")
		cfg.SecretKey = cmp.Or(os.Getenv("TRASHD_TEST_S3_SECRET_KEY"), "trashd-dev-secret")
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("start glacier layer: %v", err)
	}
	log := &testLog{tb: tb}
	s.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(s.Handler())
	s.URL = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		log.close()
	})
	return s
}

// testLog writes the layer's log lines to the test's log until the test's
// cleanup closes it: testing panics on a Log after the test is over.
type testLog struct {
	tb     testing.TB
	mu     sync.Mutex
	closed bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.tb.Log("glacier: " + strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}
