-- A running pass stamps heartbeat_at every reconcile.RunHeartbeat, so that
-- a run whose process died (kill -9, a crash, a lost host) is told apart
-- from one still going: the next pass records it abandoned.
-- One ALTER: atomic in InnoDB, so a migration that failed left nothing.

-- +goose Up
ALTER TABLE trash_runs
    ADD COLUMN heartbeat_at DATETIME(6) NULL,
    ADD KEY trash_runs_status (status, heartbeat_at);
