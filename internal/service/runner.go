package service

import (
	"context"
	"log/slog"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// NewRunner builds the S3 client from s3opts and a runner over store and
// that client: the one place both are made, for `trashd reconcile`, its dry
// run and the service alike. Its errors are of the configuration.
func NewRunner(ctx context.Context, s3opts s3ops.Options, store *db.Store, cfg reconcile.Config, log *slog.Logger,
	opts ...reconcile.Option) (*reconcile.Runner, *s3ops.Client, error) {
	if s3opts.Logger == nil {
		s3opts.Logger = log
	}
	client, err := s3ops.New(ctx, s3opts)
	if err != nil {
		return nil, nil, err
	}
	runner, err := reconcile.NewRunner(store, client, cfg, log, opts...)
	if err != nil {
		return nil, nil, err
	}
	return runner, client, nil
}
