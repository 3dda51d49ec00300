-- Migration 5: the state removed, a trash copy found gone that trashd's own
-- rule did not expire (another lifecycle rule, someone's delete). Earlier
-- versions recorded such a record missing, with the reason below; those
-- records become removed, which is what they are: the source was deleted
-- after a verified copy, and the copy is gone.
--
-- The version matters as much as the rows: a trashd older than this one
-- refuses to write to the tables (CheckWritable), so no host goes on
-- recording gone copies as missing once one has been upgraded.

-- +goose Up
UPDATE trash_objects SET state = 'removed', updated_at = NOW(6)
WHERE state = 'missing' AND source_deleted_at IS NOT NULL AND trash_etag IS NOT NULL
  AND last_error LIKE 'the trash copy % is gone, and the lifecycle rule does not expire copies this young';
