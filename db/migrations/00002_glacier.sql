-- Glacier: restores, transition checks and the counts of archived and
-- restored objects per run. One ALTER per table: each is atomic in InnoDB.

-- +goose Up
ALTER TABLE trash_objects
    ADD COLUMN restore_requested_at  DATETIME(6)   NULL,
    ADD COLUMN restored_at           DATETIME(6)   NULL,
    ADD COLUMN restored_key          VARCHAR(1024) NULL,
    ADD COLUMN transition_checked_at DATETIME(6)   NULL,
    ADD KEY trash_objects_transition (state, copied_at);

ALTER TABLE trash_runs
    ADD COLUMN archived INT NOT NULL DEFAULT 0,
    ADD COLUMN restored INT NOT NULL DEFAULT 0;
