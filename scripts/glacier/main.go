// Command glacier runs the Glacier emulation layer (package
// trashd/s3ops/s3test/glacier) in front of the local S3-compatible server,
// for the demo and for scripts: lifecycle configurations with transitions,
// transitions on an accelerated clock, and restores. Point S3 clients at the
// URL it prints (path-style, the server's own credentials). It runs until
// SIGTERM or SIGINT.
//
//	go run ./scripts/glacier -listen 127.0.0.1:8334 -day 2s
//
// Flags default from the environment: TRASHD_GLACIER_LISTEN, _TARGET, _DAY;
// the target's endpoint and credentials from TRASHD_TEST_S3_* (what dev-up
// writes to .dev/env), then AWS_*, then dev-up's defaults. It prints its URL
// on stdout once it listens and logs JSON to stderr.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"trashd/s3ops/s3test/glacier"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "glacier:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "glacier:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

type options struct {
	listen  string
	cfg     glacier.Config
	verbose bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var expedited, standard, bulk time.Duration
	fs := flag.NewFlagSet("glacier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", cmp.Or(os.Getenv("TRASHD_GLACIER_LISTEN"), "127.0.0.1:8334"), "address to listen on (port 0: any free port)")
	fs.StringVar(&o.cfg.Target, "target", cmp.Or(os.Getenv("TRASHD_GLACIER_TARGET"), os.Getenv("TRASHD_TEST_S3_ENDPOINT"), "http://127.0.0.1:8333"), "the S3 server's endpoint")
	fs.StringVar(&o.cfg.Region, "region", cmp.Or(os.Getenv("AWS_REGION"), glacier.DefaultRegion), "S3 region")
	fs.StringVar(&o.cfg.AccessKey, "access-key", "", "access key for the layer's own requests (default: TRASHD_TEST_S3_ACCESS_KEY, AWS_ACCESS_KEY_ID, trashd-dev)")
	fs.StringVar(&o.cfg.SecretKey, "secret-key", "", "secret key for the layer's own requests (default: TRASHD_TEST_S3_SECRET_KEY, AWS_SECRET_ACCESS_KEY, trashd-dev-secret)")
	day, err := durationEnv("TRASHD_GLACIER_DAY", glacier.DefaultDayLength)
	if err != nil {
		return o, usageError{err}
	}
	fs.DurationVar(&o.cfg.DayLength, "day", day, "length of one lifecycle day on the accelerated clock")
	fs.DurationVar(&expedited, "restore-expedited", 0, "delay of an Expedited restore (default 1s per second of -day)")
	fs.DurationVar(&standard, "restore-standard", 0, "delay of a Standard restore (default 3s per second of -day)")
	fs.DurationVar(&bulk, "restore-bulk", 0, "delay of a Bulk restore (default 6s per second of -day)")
	fs.Int64Var(&o.cfg.MinTransitionSize, "min-transition-size", glacier.DefaultMinTransitionSize, "objects smaller than this are not transitioned by a rule without a size filter")
	fs.BoolVar(&o.verbose, "v", false, "log debug lines too")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	o.cfg.AccessKey = cmp.Or(o.cfg.AccessKey, os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), os.Getenv("AWS_ACCESS_KEY_ID"), "trashd-dev")
	o.cfg.SecretKey = cmp.Or(o.cfg.SecretKey, os.Getenv("TRASHD_TEST_S3_SECRET_KEY"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "trashd-dev-secret")
	o.cfg.Restore = map[string]time.Duration{}
	for tier, d := range map[string]time.Duration{glacier.TierExpedited: expedited, glacier.TierStandard: standard, glacier.TierBulk: bulk} {
		if d > 0 {
			o.cfg.Restore[tier] = d
		}
	}
	return o, nil
}

func durationEnv(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return d, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	layer, err := glacier.New(o.cfg)
	if err != nil {
		return usageError{err}
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	layer.Logger = log

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	layer.URL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: layer.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runCtx, stopRun := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		layer.Run(runCtx)
	}()
	log.Info("glacier layer listening", "url", layer.URL, "target", o.cfg.Target, "day", o.cfg.DayLength.String())
	fmt.Fprintln(stdout, layer.URL)

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopRun()
	<-swept
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("glacier layer stopped")
	return nil
}
