// Package db is trashd's MySQL adapter.
//
// It owns trashd's own tables (trash_objects, one row per trashed LMS file,
// and trash_runs, one row per pass), created by embedded migrations, and it
// reads the LMS's file table, whose name and columns are configured and
// validated (LMSTable). The LMS table is only ever read.
//
// Store implements the ports that package reconcile declares: it discovers
// trashed LMS rows with a keyset scan, hands out records under leases
// (SELECT … FOR UPDATE SKIP LOCKED in a READ COMMITTED transaction, then a
// random lease token), and writes every later step fenced by that token, so
// that a worker whose lease lapsed and was taken over changes nothing.
//
// Every time is the database's NOW(6), in UTC (the session time_zone is
// '+00:00'), so that hosts never compare their own clocks. The SQL runs on
// MySQL 8.0+ and MariaDB 10.6+ alike: no RETURNING, no vendor-only functions.
package db
