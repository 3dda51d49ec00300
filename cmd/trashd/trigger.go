package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"trashd/reconcile"
)

func triggerCommand() command {
	return command{
		name:    "trigger",
		args:    "[--wait]",
		summary: "ask the running service for a pass now (--wait: follow it to the end)",
		about: "Ask the running service (`trashd serve`, through TRASHD_CONTROL_SOCKET) to start a pass now, or\n" +
			"report the one already running. With --wait, follow it with the same progress as `trashd reconcile`\n" +
			"and exit with its result.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			wait := fs.Bool("wait", false, "follow the pass to its end and exit with its result")
			return func(ctx context.Context, c *cli, _ []string) error {
				return runTrigger(ctx, c, *wait)
			}
		},
	}
}

// runTrigger asks the running service to start a pass now. With wait it
// follows the pass to its end, shows the same progress as `trashd reconcile`,
// and exits with the pass's result.
func runTrigger(ctx context.Context, c *cli, wait bool) error {
	cfg, err := loadControlConfig(c.stderr)
	if err != nil {
		return err
	}
	client := newControlClient(cfg.ControlSocket)
	t, err := client.trigger(ctx)
	if err != nil {
		return err
	}
	if t.Started {
		fmt.Fprintf(c.stdout, "started run %d\n", t.Pass.ID)
	} else {
		fmt.Fprintf(c.stdout, "run %d is already running (%s, started %s)\n", t.Pass.ID, t.Pass.Trigger, t.Pass.Started.Format(time.RFC3339))
	}
	if !wait {
		return nil
	}

	disp := newProgressDisplay(c, c.logger(cfg.LogLevel, cfg.LogFormat), cfg.ProgressInterval)
	for {
		// The service answers when the pass ends or after half a second
		// with its progress; a service that stops mid-pass still answers
		// this request (with the pass interrupted) before it closes.
		p, err := client.awaitPass(ctx, t.Pass.ID, 500*time.Millisecond)
		switch {
		case ctx.Err() != nil:
			disp.end()
			return fmt.Errorf("stopped following run %d; it goes on in the service (`trashd status` shows it)", t.Pass.ID)
		case err != nil:
			disp.end()
			return fmt.Errorf("run %d was interrupted: the service stopped or went away before the pass ended (%w); "+
				"the service records it interrupted, or the next pass records it abandoned, and resumes its objects; `trashd status` shows it", t.Pass.ID, err)
		case !p.Running:
			disp.end()
			sum := p.Summary()
			printSummary(c.stdout, sum)
			if p.Error != "" {
				return fmt.Errorf("the pass could not run: %s", p.Error)
			}
			if sum.Status == reconcile.RunInterrupted {
				return withCode(codeFailure, fmt.Errorf("run %d was interrupted: the service was stopped mid-pass; "+
					"the steps in flight finished, the leases were released, and the next pass resumes where it stopped", sum.RunID))
			}
			return passResult(sum)
		}
		disp.show(p.Progress())
	}
}

// loadControlConfig reads the variables trigger needs (the control socket,
// the progress interval, the log level) through the same parsing as every
// command, without requiring the rest: the service holds those. It prints
// every problem, and warns of unknown TRASHD_ variables.
func loadControlConfig(stderr io.Writer) (Config, error) {
	e := readEnv()
	cfg, err := parseControl(e)
	if err != nil {
		return Config{}, configErr(err)
	}
	for _, u := range e.unknown {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", u)
	}
	return cfg, nil
}
