// Package inventory reads and writes Amazon S3 Inventory reports: the
// manifest.json, manifest.checksum and data files (CSV compressed with gzip,
// or Parquet) that S3 delivers under
// destination-prefix/source-bucket/config-id/<date>/.
//
// It talks to S3 only through the small Store interface, so that it imports
// nothing but the standard library and the Parquet reader; s3ops implements
// Store with the SDK.
package inventory
