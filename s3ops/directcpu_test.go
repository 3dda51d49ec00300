package s3ops_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// TestDirectCPU measures this process's CPU time per moved object's pair of
// requests, a HEAD of the source and its CopyObject into the trash, with
// direct requests and through the SDK, against SeaweedFS, at the
// concurrency of a busy runner. It is a measurement, not a check: it runs
// only when TRASHD_DIRECT_CPU_OBJECTS says how many objects to move per
// round (say 2000), and prints the figures:
//
//	TRASHD_DIRECT_CPU_OBJECTS=2000 go test ./s3ops -run TestDirectCPU -count=1 -v
func TestDirectCPU(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TRASHD_DIRECT_CPU_OBJECTS"))
	if n <= 0 {
		t.Skip("a measurement: set TRASHD_DIRECT_CPU_OBJECTS to the objects per round to run it")
	}
	const concurrency, rounds = 16, 3
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	src := s3test.NewBucket(t, seed, "s3ops-cpu-src")
	trash := s3test.NewBucket(t, seed, "s3ops-cpu-trash")
	keys := make([]string, n)
	g := new(errgroup.Group)
	g.SetLimit(concurrency)
	for i := range keys {
		keys[i] = fmt.Sprintf("course/%d/file %d.pdf", i%50, i)
		g.Go(func() error {
			s3test.PutObject(t, seed, src, keys[i], s3test.RandomBytes(2048))
			return nil
		})
	}
	_ = g.Wait()

	clients := map[string]*s3ops.Client{}
	for _, mode := range []string{"direct", "sdk"} {
		o := s3test.Options(t)
		o.NoDirectRequests = mode == "sdk"
		clients[mode] = s3test.NewClient(t, o)
	}
	for round := range rounds {
		for _, mode := range []string{"sdk", "direct"} {
			c := clients[mode]
			runtime.GC()
			before, start := cpuTime(t), time.Now()
			g := new(errgroup.Group)
			g.SetLimit(concurrency)
			for i, key := range keys {
				g.Go(func() error {
					obj, err := c.Head(t.Context(), src, key)
					if err != nil {
						return err
					}
					_, err = c.CopyOnce(t.Context(), obj, trash, fmt.Sprintf("%s/%d/%d", mode, round, i), reconcile.CopyOptions{})
					return err
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatalf("%s round %d: %v", mode, round+1, err)
			}
			cpu, wall := cpuTime(t)-before, time.Since(start)
			t.Logf("round %d %-6s: %d HEAD+CopyObject pairs at concurrency %d in %v: %.3f ms CPU per pair (%.0f pairs/s)",
				round+1, mode, n, concurrency, wall.Round(time.Millisecond), float64(cpu.Microseconds())/1000/float64(n), float64(n)/wall.Seconds())
		}
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
