-- trashd's own state. The LMS's tables are never altered.
--
-- All strings compare byte for byte (utf8mb4_bin): S3 keys are case- and
-- Unicode-exact. Every DATETIME(6) holds the database's NOW(6) in UTC.
-- IF NOT EXISTS because MySQL commits DDL implicitly: a migration that stopped
-- halfway must be able to run again.
--
-- There is no Down migration on purpose: trash_objects is the only record of
-- which trashed file went where, and dropping it must be a deliberate act.

-- +goose Up
CREATE TABLE IF NOT EXISTS trash_objects (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    lms_id            BIGINT          NOT NULL,
    state             VARCHAR(16)     NOT NULL,
    source_bucket     VARCHAR(63)     NOT NULL,
    source_key        VARCHAR(1024)   NOT NULL,
    source_version    VARCHAR(1024)   NULL,
    source_size       BIGINT          NULL,
    source_etag       VARCHAR(128)    NULL,
    source_checksum   VARCHAR(200)    NULL, -- "ALGORITHM:base64 value"
    trash_bucket      VARCHAR(63)     NULL,
    trash_key         VARCHAR(1024)   NULL,
    trash_etag        VARCHAR(128)    NULL,
    storage_class     VARCHAR(32)     NULL,
    attempts          INT             NOT NULL DEFAULT 0,
    next_attempt_at   DATETIME(6)     NOT NULL,
    lease_owner       VARCHAR(255)    NULL,
    lease_token       CHAR(32)        NULL,
    lease_expires_at  DATETIME(6)     NULL,
    discovered_at     DATETIME(6)     NOT NULL,
    source_seen_at    DATETIME(6)     NULL,
    copied_at         DATETIME(6)     NULL,
    source_deleted_at DATETIME(6)     NULL,
    archived_at       DATETIME(6)     NULL,
    finished_at       DATETIME(6)     NULL,
    updated_at        DATETIME(6)     NOT NULL,
    last_error        TEXT            NULL,
    PRIMARY KEY (id),
    UNIQUE KEY trash_objects_lms_id (lms_id),
    KEY trash_objects_due (state, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS trash_runs (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    run_trigger VARCHAR(16)  NOT NULL,
    host        VARCHAR(255) NOT NULL,
    status      VARCHAR(16)  NOT NULL,
    started_at  DATETIME(6)  NOT NULL,
    finished_at DATETIME(6)  NULL,
    discovered  INT          NOT NULL DEFAULT 0,
    moved       INT          NOT NULL DEFAULT 0,
    missing     INT          NOT NULL DEFAULT 0,
    failed      INT          NOT NULL DEFAULT 0,
    retrying    INT          NOT NULL DEFAULT 0,
    interrupted INT          NOT NULL DEFAULT 0,
    bytes       BIGINT       NOT NULL DEFAULT 0,
    `error`     TEXT         NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
