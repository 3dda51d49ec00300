package reconcile

import "testing"

// provenCopy must never be weaker than verifyCopy: a copy whose checksum of
// the source's own algorithm differs from the source's holds other bytes,
// whatever its ETag says (a server that carries the ETag across a copy
// without recomputing it).
func TestProvenCopyChecksumMismatchWithEqualETag(t *testing.T) {
	src := Object{Bucket: "src", Key: "k", Size: 10, ETag: "0123456789abcdef0123456789abcdef",
		Checksum: Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}}
	rep := CopyReport{ETag: src.ETag, Checksum: Checksum{Algorithm: "CRC32", Value: "BBBBBB=="}}
	dst := Object{Bucket: "trash", Key: "t", Size: src.Size, ETag: rep.ETag, Checksum: rep.Checksum}
	if err := verifyCopy(src, dst); err == nil {
		t.Fatal("verifyCopy accepts it: the premise is wrong")
	}
	if c, err := provenCopy(src, rep, "trash", "t", ""); err == nil {
		t.Errorf("provenCopy proves a copy whose CRC32 differs from the source's (recorded checksum %+v); verifyCopy refuses it", c.Checksum)
	}
}
