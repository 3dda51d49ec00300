package reconcile

import "fmt"

// verifyCopy proves that dst holds the same bytes as src without reading
// them: the sizes must be equal, and either both carry the same additional
// checksum, or their ETags are equal. S3 keeps the MD5 ETag of a single-part
// object on CopyObject, and a part-by-part copy that mirrors a multipart
// source's parts gets the source's composite ETag, so one of the two proofs is
// always available to a copy made by s3ops. Anything else is not a proof, and
// the source must not be deleted.
func verifyCopy(src, dst Object) error {
	if dst.Size != src.Size {
		return fmt.Errorf("%w: s3://%s/%s is %d bytes, the source s3://%s/%s %d bytes",
			ErrVerify, dst.Bucket, dst.Key, dst.Size, src.Bucket, src.Key, src.Size)
	}
	if src.Checksum.Value != "" && src.Checksum.Algorithm == dst.Checksum.Algorithm {
		if src.Checksum.Value != dst.Checksum.Value {
			return fmt.Errorf("%w: %s of s3://%s/%s is %s, the source's %s",
				ErrVerify, src.Checksum.Algorithm, dst.Bucket, dst.Key, dst.Checksum.Value, src.Checksum.Value)
		}
		return nil
	}
	if src.ETag != "" && dst.ETag == src.ETag {
		return nil
	}
	return fmt.Errorf("%w: the ETag of s3://%s/%s (%q) differs from the source's (%q) and no common checksum proves them equal",
		ErrVerify, dst.Bucket, dst.Key, dst.ETag, src.ETag)
}

// sameVersion reports whether a and b describe the same content of one key.
func sameVersion(a, b Object) bool {
	return a.ETag == b.ETag && a.Size == b.Size && a.VersionID == b.VersionID
}
