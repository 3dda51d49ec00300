// Package inventory reads and writes Amazon S3 Inventory reports: the
// manifest.json, manifest.checksum and data files (CSV compressed with gzip,
// or Parquet) that S3 delivers under
// destination-prefix/source-bucket/config-id/<date>/.
//
// A report is used only when complete: Latest takes the newest folder with
// both manifest.json and manifest.checksum (one without both is still being
// delivered) and refuses one whose checksum is not the MD5 of its manifest;
// Rows checks each data file, named by files[].key and never by a pattern,
// against files[].MD5checksum before yielding any of its rows. Rows
// stream: one data file at a time on disk, never a report in memory.
//
// It talks to S3 only through the small Store interface, so that it imports
// nothing but the standard library and the Parquet reader; s3ops implements
// Store with the SDK.
package inventory
