// Package reconcile is trashd's domain: the life of one trashed file as a
// state machine, and the runner that drives one pass over the backlog.
//
// A pass discovers trashed LMS rows that have no record yet, claims records
// under a lease, and moves each object into the trash bucket: HEAD the source,
// copy it server-side, verify the copy, and only then delete the source. Every
// step is recorded, fenced by the lease token, so a worker whose lease lapsed
// changes nothing and a crash at any point leaves a state the next pass
// resumes from.
//
// The package declares the small interfaces it needs (ports.go) and imports no
// database driver or SDK; package db and package s3ops implement them.
package reconcile
