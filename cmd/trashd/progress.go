package main

import (
	"fmt"
	"log/slog"
	"time"

	"trashd/reconcile"
)

// progressDisplay shows a pass's progress: a line redrawn in place on a
// terminal, else one log line per interval.
type progressDisplay struct {
	line     *liveLine // nil: not a terminal
	log      *slog.Logger
	interval time.Duration
	last     time.Time
}

func newProgressDisplay(c *cli, log *slog.Logger, interval time.Duration) *progressDisplay {
	return &progressDisplay{line: c.line, log: log, interval: interval}
}

func (d *progressDisplay) show(p reconcile.Progress) {
	now := time.Now()
	if d.line != nil {
		d.line.draw(progressLine(p, now))
		return
	}
	if now.Sub(d.last) < d.interval {
		return
	}
	d.last = now
	c := p.Counts
	d.log.Info("progress", "run_id", p.RunID, "phase", p.Phase, "done", p.Done(), "total", p.Total,
		"moved", c.Moved, "bytes", c.Bytes, "failed", c.Failed, "missing", c.Missing, "retrying", c.Retrying)
}

// end finishes the live line so that what follows starts on its own line.
func (d *progressDisplay) end() {
	if d.line != nil {
		d.line.end()
	}
}

// follow shows the progress of the pass h until it ends.
func (d *progressDisplay) follow(h *reconcile.Handle, current func() (reconcile.Progress, bool)) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	defer d.end()
	for {
		select {
		case <-h.Done():
			return
		case <-t.C:
			if p, ok := current(); ok {
				d.show(p)
			}
		}
	}
}

// progressLine reads "run 12 moving: 340/990 objects, 22.1 MiB, 150.2/s, ETA 4s, 0 failed, 0 missing".
func progressLine(p reconcile.Progress, now time.Time) string {
	c := p.Counts
	elapsed := now.Sub(p.Started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.Done()) / elapsed
	}
	eta := "?"
	if left := p.Total - p.Done(); left == 0 {
		eta = "0s"
	} else if rate > 0 {
		eta = time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("run %d %s: %d/%d objects, %s, %.1f/s, ETA %s, %d failed, %d missing",
		p.RunID, p.Phase, p.Done(), p.Total, humanBytes(c.Bytes), rate, eta, c.Failed, c.Missing)
}
