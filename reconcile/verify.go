package reconcile

import (
	"cmp"
	"fmt"
)

// verifyCopy proves that dst holds the same bytes as src without reading
// them: the sizes must be equal, and either both carry the same additional
// checksum, or their ETags are equal. S3 keeps the MD5 ETag of a single-part
// object on CopyObject, and a part-by-part copy that mirrors a multipart
// source's parts gets the source's composite ETag, so one of the two proofs is
// always available to a copy made by s3ops. Anything else is not a proof, and
// the source must not be deleted.
func verifyCopy(src, dst Object) error {
	if dst.Size != src.Size && dst.Size != SizeUnknown && src.Size != SizeUnknown {
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
	sized := a.Size == b.Size || a.Size == SizeUnknown || b.Size == SizeUnknown
	return a.ETag == b.ETag && sized && a.VersionID == b.VersionID
}

// provenCopy is the copy that rep, the response to one CopyObject of src,
// describes, if rep proves that it holds src's bytes — by verifyCopy, as a
// copy read back with HEAD is proven: the checksum S3 computed over the
// copy equals the source's, or the copy's ETag equals the source's. The
// size is the source's: the response does not carry one, and equal
// checksums or MD5 ETags are equal bytes. Beyond verifyCopy, the copy must
// be of exactly the version HEAD saw, and a multipart source's ETag is no
// MD5 of the bytes (a copy in one request gets a new, single-part ETag), so
// only a checksum proves its copy. A KMS-encrypted object's ETag is no MD5
// either, but then the ETags differ and nothing is proven: such a copy is
// read back with HEAD, as the move alone does.
func provenCopy(src Object, rep CopyReport, bucket, key, class string) (Object, error) {
	copy := Object{Bucket: bucket, Key: key, VersionID: rep.VersionID, Size: src.Size, ETag: rep.ETag, Checksum: rep.Checksum, StorageClass: class}
	if src.VersionID != "" && rep.SourceVersionID != src.VersionID {
		return Object{}, fmt.Errorf("%w: the copy is of version %q, not of %q", ErrVerify, rep.SourceVersionID, src.VersionID)
	}
	checksummed := src.Checksum.Value != "" && rep.Checksum.Algorithm == src.Checksum.Algorithm
	if multipartETag(src.ETag) && !checksummed {
		return Object{}, fmt.Errorf("%w: the source's ETag %q is a multipart upload's, and the copy's response carries no %s checksum to prove it",
			ErrVerify, src.ETag, cmp.Or(src.Checksum.Algorithm, "additional"))
	}
	if err := verifyCopy(src, copy); err != nil {
		return Object{}, err
	}
	if copy.Checksum.Value == "" {
		// The same bytes have the same checksum.
		copy.Checksum = src.Checksum
	}
	return copy, nil
}

// multipartETag reports whether etag is a multipart upload's
// ("<hex>-<parts>").
func multipartETag(etag string) bool {
	for i := len(etag) - 1; i >= 0; i-- {
		switch c := etag[i]; {
		case c == '-':
			return i < len(etag)-1
		case c < '0' || c > '9':
			return false
		}
	}
	return false
}
