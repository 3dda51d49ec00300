package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runTrigger asks the running service to start a pass now. With --wait it
// follows the pass to its end, shows the same progress as `trashd reconcile`,
// and exits with the pass's result.
func runTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("trigger", "trigger [--wait]", stderr)
	wait := fs.Bool("wait", false, "follow the pass to its end and exit with its result")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, ok := loadControlConfig(stderr)
	if !ok {
		return exitUsage
	}
	client := newControlClient(cfg.ControlSocket)
	t, err := client.trigger(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	if t.Started {
		fmt.Fprintf(stdout, "started run %d\n", t.Pass.ID)
	} else {
		fmt.Fprintf(stdout, "run %d is already running (%s, started %s)\n", t.Pass.ID, t.Pass.Trigger, t.Pass.Started.Format(time.RFC3339))
	}
	if !*wait {
		return exitOK
	}

	disp := newProgressDisplay(stdout, newLogger(stderr, cfg.LogLevel), cfg.ProgressInterval)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		p, err := client.pass(ctx, t.Pass.ID)
		if err != nil {
			disp.end()
			fmt.Fprintf(stderr, "trashd: follow run %d: %v\n", t.Pass.ID, err)
			return exitError
		}
		if !p.Running {
			disp.end()
			sum := p.summary()
			printSummary(stdout, sum)
			if p.Error != "" {
				fmt.Fprintf(stderr, "trashd: the pass could not run: %s\n", p.Error)
				return exitError
			}
			return passExitCode(sum)
		}
		disp.show(p.progress())
		select {
		case <-ctx.Done():
			disp.end()
			fmt.Fprintf(stderr, "trashd: stopped following run %d; it goes on in the service\n", t.Pass.ID)
			return exitError
		case <-tick.C:
		}
	}
}

// loadControlConfig reads the variables trigger needs (the control socket,
// the progress interval, the log level) through the same parsing as every
// command, without requiring the rest: the service holds those. It prints
// every problem, and warns of unknown TRASHD_ variables.
func loadControlConfig(stderr io.Writer) (Config, bool) {
	e, err := readEnv()
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return Config{}, false
	}
	p := &problems{}
	var cfg Config
	parseControl(p, e, &cfg)
	if err := p.err(); err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return Config{}, false
	}
	for _, u := range e.unknown {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", u)
	}
	return cfg, true
}
