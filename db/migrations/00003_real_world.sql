-- Objects shared by several LMS rows, the copy's own identity, uploads to
-- clean up after a crash, failures measured in time, reversible orphans.
-- One ALTER: atomic in InnoDB, so a migration that failed left nothing.

-- +goose Up
ALTER TABLE trash_objects
    -- The trash copy's own size and checksum (trash_etag is its ETag), kept
    -- apart from the source's so that an audit checks the copy against what
    -- the copy was, not against fields a later step could rewrite.
    ADD COLUMN trash_size      BIGINT        NULL,
    ADD COLUMN trash_checksum  VARCHAR(200)  NULL,
    -- The source's Last-Modified as S3 reported it: on a versioned bucket,
    -- what tells an older version made current from a newer upload.
    ADD COLUMN source_modified DATETIME(6)   NULL,
    -- state shared: the LMS row (id) that still names the object.
    ADD COLUMN shared_with     BIGINT        NULL,
    -- A multipart copy back under way (in source_bucket): aborted by a
    -- later attempt when a crash left it.
    ADD COLUMN upload_key      VARCHAR(1024) NULL,
    ADD COLUMN upload_id       VARCHAR(1024) NULL,
    -- When the current run of failed attempts began; cleared on success.
    ADD COLUMN failing_since   DATETIME(6)   NULL,
    -- state orphaned: the state to return to if the LMS row comes back.
    ADD COLUMN orphaned_from   VARCHAR(16)   NULL,
    -- How many times the row was trashed again after a restore: each life
    -- gets trash keys of its own, so that a copy an earlier life left for
    -- another record is never reused or removed by this one.
    ADD COLUMN life            INT           NOT NULL DEFAULT 0,
    -- Other records of the same object, and records sharing one trash copy.
    -- Prefix indexes: 250 utf8mb4 characters are 1,000 bytes, within
    -- InnoDB's 3,072-byte key limit.
    ADD KEY trash_objects_source (source_bucket, source_key(250)),
    ADD KEY trash_objects_trash_key (trash_key(250));

ALTER TABLE trash_runs
    ADD COLUMN shared INT NOT NULL DEFAULT 0;
