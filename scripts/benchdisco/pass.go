package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"trashd/db"
)

const (
	srcBucket   = "benchdisco-src"
	trashBucket = "benchdisco-trash"
)

// passFigures is what one `trashd reconcile` pass showed.
type passFigures struct {
	discovered int
	discovery  time.Duration // "pass started" to "discovered trashed rows", by the log's clock
	moving     bool          // the pass reached its move phase before it was interrupted
	maxRSSKB   int64         // getrusage ru_maxrss of the process
}

// runPass runs `trashd reconcile --allow-mass-change` on opts' database and
// interrupts it (SIGINT, the graceful stop): at once once it has logged its
// discoveries when moveFor is 0, else moveFor after its progress shows it
// moving. A pass that ends first is let end.
func runPass(ctx context.Context, bin string, opts db.Options, s3env []string, moveFor time.Duration) (passFigures, error) {
	var f passFigures
	cmd := exec.CommandContext(ctx, bin, "reconcile", "--allow-mass-change")
	cmd.Env = append(withoutTrashd(os.Environ()), s3env...)
	cmd.Env = append(cmd.Env,
		"TRASHD_MYSQL_HOST="+opts.Host, "TRASHD_MYSQL_PORT="+strconv.Itoa(opts.Port),
		"TRASHD_MYSQL_USER="+opts.User, "TRASHD_MYSQL_PASSWORD="+opts.Password,
		"TRASHD_MYSQL_DATABASE="+opts.Database, "TRASHD_MYSQL_TLS=false",
		"TRASHD_LMS_TABLE="+lmsTable.Table, "TRASHD_LMS_ID_COLUMN="+lmsTable.IDColumn,
		"TRASHD_LMS_KEY_COLUMN="+lmsTable.KeyColumn, "TRASHD_LMS_BUCKET_COLUMN="+lmsTable.BucketColumn,
		"TRASHD_LMS_TRASH_COLUMN="+lmsTable.TrashColumn, "TRASHD_LMS_TRASH_KIND="+lmsTable.TrashKind,
		"TRASHD_SOURCE_BUCKET="+srcBucket, "TRASHD_TRASH_BUCKET="+trashBucket,
		"TRASHD_LIFECYCLE_MODE=off", "TRASHD_LOG_FORMAT=json", "TRASHD_LOG_LEVEL=info",
		"TRASHD_PROGRESS_INTERVAL=500ms",
	)
	// The log is on stderr; stdout has the summary.
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	out, err := cmd.StderrPipe()
	if err != nil {
		return f, err
	}
	if err := cmd.Start(); err != nil {
		return f, fmt.Errorf("start %s: %w", bin, err)
	}
	var (
		started     time.Time
		interrupted bool
		tail        []string
	)
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		var rec struct {
			Time  time.Time `json:"time"`
			Msg   string    `json:"msg"`
			Count int       `json:"count"`
			Phase string    `json:"phase"`
		}
		if json.Unmarshal(lines.Bytes(), &rec) != nil || strings.Contains(lines.Text(), `"level":"ERROR"`) {
			if len(tail) < 20 {
				tail = append(tail, lines.Text())
			}
			continue
		}
		switch rec.Msg {
		case "pass started":
			started = rec.Time
		case "discovered trashed rows":
			f.discovered, f.discovery = rec.Count, rec.Time.Sub(started)
			if moveFor == 0 {
				cmd.Process.Signal(os.Interrupt)
				interrupted = true
			}
		case "progress":
			if rec.Phase == "moving" && !f.moving {
				f.moving = true
				time.AfterFunc(moveFor, func() { cmd.Process.Signal(os.Interrupt) })
				interrupted = true
			}
		}
	}
	err = cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		f.maxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	if err != nil && !interrupted {
		return f, fmt.Errorf("trashd reconcile: %w\n%s%s", err, stdout.String(), strings.Join(tail, "\n"))
	}
	if f.discovered == 0 {
		return f, fmt.Errorf("trashd reconcile discovered nothing\n%s%s", stdout.String(), strings.Join(tail, "\n"))
	}
	return f, nil
}

// withoutTrashd drops the caller's TRASHD_* settings: the pass gets only
// the benchmark's.
func withoutTrashd(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TRASHD_") {
			out = append(out, kv)
		}
	}
	return out
}

func benchDiscovery(ctx context.Context, o options, s3env []string, res *result, say func(string, ...any)) error {
	t := table{rows: o.rows, first: 1, trashed: o.trashed}
	sqlDB, opts, err := prepare(ctx, o.dsn, "trashd_benchdisco", t, say)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	say("discovery pass: %d trashed rows of %d", t.trashed, t.rows)
	f, err := runPass(ctx, o.trashd, opts, s3env, 0)
	if err != nil {
		return err
	}
	res.Discovered, res.DiscoverySeconds = f.discovered, round(f.discovery.Seconds())
	if n, err := count(ctx, sqlDB, "SELECT COUNT(*) FROM trash_objects"); err != nil || n != t.trashed {
		return fmt.Errorf("trash_objects holds %d records after the pass (%v), want %d", n, err, t.trashed)
	}

	// What every later pass pays when nothing is new: the whole scan.
	store, err := db.NewStore(ctx, sqlDB, lmsTable)
	if err != nil {
		return err
	}
	start := time.Now()
	for after := int64(0); ; {
		rows, err := store.ScanTrashed(ctx, after, 1000)
		if err != nil {
			return err
		}
		if len(rows) < 1000 {
			if len(rows) > 0 {
				return fmt.Errorf("rescan found %d rows, want none", len(rows))
			}
			break
		}
		after = rows[len(rows)-1].LMSID
	}
	res.RescanSeconds = round(time.Since(start).Seconds())
	return nil
}

func benchMemory(ctx context.Context, o options, s3env []string, res *result, say func(string, ...any)) error {
	t := table{rows: o.rssRows, first: 1, trashed: o.rssRows}
	sqlDB, opts, err := prepare(ctx, o.dsn, "trashd_benchdisco_rss", t, say)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	say("memory pass: %d trashed rows, moving for %s after discovery", t.rows, o.moveFor)
	f, err := runPass(ctx, o.trashd, opts, s3env, o.moveFor)
	if err != nil {
		return err
	}
	res.RSSLMSRows, res.RSSDiscovered = t.rows, f.discovered
	res.RSSDiscoverySeconds = round(f.discovery.Seconds())
	res.PeakRSSMB = round(float64(f.maxRSSKB) / 1024)
	if !f.moving {
		return errors.New("the pass ended before it moved anything")
	}
	res.Pending, err = count(ctx, sqlDB, "SELECT COUNT(*) FROM trash_objects WHERE state = 'pending'")
	res.Settled = t.rows - res.Pending
	return err
}
