package inventory

import (
	"fmt"
	"strings"
)

// The formats of a report (fileFormat in manifest.json).
const (
	FormatCSV     = "CSV"
	FormatParquet = "Parquet"
	FormatORC     = "ORC"
)

// kind is how a field's values are written.
type kind int

const (
	kindText kind = iota
	kindBool
	kindInt
	kindTime
)

// field is one column S3 Inventory may write: its name in a CSV report's
// fileSchema, its column name in a Parquet (or ORC) report, the bit it sets
// in Row.Has (0 for Bucket and Key, always present, and for fields Row does
// not carry) and how its values are written.
type field struct {
	name, snake string
	has         Fields
	kind        kind
}

// fields are S3 Inventory's fields in the order S3 writes them (User Guide,
// "Amazon S3 Inventory list"; the Parquet names are those of its Parquet
// manifest example: the CSV name in snake_case, ETag as e_tag).
var fields = []field{
	{"Bucket", "bucket", 0, kindText},
	{"Key", "key", 0, kindText},
	{"VersionId", "version_id", FieldVersion, kindText},
	{"IsLatest", "is_latest", FieldVersion, kindBool},
	{"IsDeleteMarker", "is_delete_marker", FieldVersion, kindBool},
	{"Size", "size", FieldSize, kindInt},
	{"LastModifiedDate", "last_modified_date", FieldLastModified, kindTime},
	{"ETag", "e_tag", FieldETag, kindText},
	{"StorageClass", "storage_class", FieldStorageClass, kindText},
	{"IsMultipartUploaded", "is_multipart_uploaded", FieldIsMultipartUploaded, kindBool},
	{"ReplicationStatus", "replication_status", FieldReplicationStatus, kindText},
	{"EncryptionStatus", "encryption_status", FieldEncryptionStatus, kindText},
	{"ObjectLockRetainUntilDate", "object_lock_retain_until_date", FieldObjectLockRetainUntilDate, kindTime},
	{"ObjectLockMode", "object_lock_mode", FieldObjectLockMode, kindText},
	{"ObjectLockLegalHoldStatus", "object_lock_legal_hold_status", FieldObjectLockLegalHoldStatus, kindText},
	{"IntelligentTieringAccessTier", "intelligent_tiering_access_tier", FieldIntelligentTieringAccessTier, kindText},
	{"BucketKeyStatus", "bucket_key_status", FieldBucketKeyStatus, kindText},
	{"ChecksumAlgorithm", "checksum_algorithm", FieldChecksumAlgorithm, kindText},
	{"ObjectAccessControlList", "object_access_control_list", FieldObjectAccessControlList, kindText},
	{"ObjectOwner", "object_owner", FieldObjectOwner, kindText},
	{"LifecycleExpirationDate", "lifecycle_expiration_date", 0, kindTime},
}

// fieldByName finds a field by its CSV name, case-insensitively (S3 writes
// "Bucket, Key, ..."; a hand-made manifest may not).
func fieldByName(name string) (field, bool) {
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return field{}, false
}

// fieldBySnake finds a field by its Parquet column name.
func fieldBySnake(snake string) (field, bool) {
	for _, f := range fields {
		if f.snake == snake {
			return f, true
		}
	}
	return field{}, false
}

// FieldNames are the names of every field S3 Inventory writes, in its
// order, as a CSV report's fileSchema spells them.
func FieldNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// DefaultSchema is the schema trashd asks for: the fields it checks
// records against, in S3's order, with the version fields when versioned.
func DefaultSchema(versioned bool) []string {
	s := []string{"Bucket", "Key"}
	if versioned {
		s = append(s, "VersionId", "IsLatest", "IsDeleteMarker")
	}
	return append(s, "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "ChecksumAlgorithm")
}

// checkSchema resolves schema's names to fields: each known (unless
// lenient, for reading: a field S3 adds later is a column to skip), none
// twice, Bucket and Key present, and the three version fields all or none.
func checkSchema(schema []string, lenient bool) ([]field, error) {
	out := make([]field, 0, len(schema))
	seen := make(map[string]bool)
	var bad []string
	for _, name := range schema {
		f, ok := fieldByName(strings.TrimSpace(name))
		switch {
		case !ok && lenient:
			out = append(out, field{name: name})
			continue
		case !ok:
			bad = append(bad, fmt.Sprintf("%q is not an S3 Inventory field (known: %s)", name, strings.Join(FieldNames(), ", ")))
			continue
		case seen[f.name]:
			bad = append(bad, fmt.Sprintf("%s is listed twice", f.name))
			continue
		}
		seen[f.name] = true
		out = append(out, f)
	}
	for _, need := range []string{"Bucket", "Key"} {
		if !seen[need] {
			bad = append(bad, need+" is missing")
		}
	}
	if n := countTrue(seen["VersionId"], seen["IsLatest"], seen["IsDeleteMarker"]); n != 0 && n != 3 {
		bad = append(bad, "VersionId, IsLatest and IsDeleteMarker come together (a report of all versions) or not at all")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("schema %s: %s", strings.Join(schema, ", "), strings.Join(bad, "; "))
	}
	return out, nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// hasOf is the set of optional fields among fs.
func hasOf(fs []field) Fields {
	var h Fields
	for _, f := range fs {
		h |= f.has
	}
	return h
}
