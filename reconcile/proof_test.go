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

// provenCopy proves a copy of exactly the version HEAD saw, and of a
// multipart source only by a checksum: the cases where the response's ETag
// equals the source's and still proves nothing.
func TestProvenCopyRefuses(t *testing.T) {
	md5 := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		src  Object
		rep  CopyReport
	}{
		{"another source version", Object{Size: 10, ETag: md5, VersionID: "v2"}, CopyReport{ETag: md5, SourceVersionID: "v1"}},
		{"no source version said", Object{Size: 10, ETag: md5, VersionID: "v2"}, CopyReport{ETag: md5}},
		{"a multipart ETag carried across", Object{Size: 10, ETag: md5 + "-3"}, CopyReport{ETag: md5 + "-3"}},
		{"a multipart source with a checksum of another algorithm", Object{Size: 10, ETag: md5 + "-3", Checksum: Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}},
			CopyReport{ETag: md5 + "-3", Checksum: Checksum{Algorithm: "SHA256", Value: "x"}}},
		{"another ETag", Object{Size: 10, ETag: md5}, CopyReport{ETag: "ffffffffffffffffffffffffffffffff"}},
	} {
		if c, err := provenCopy(tc.src, tc.rep, "trash", "t", ""); err == nil {
			t.Errorf("%s: proven (%+v), want refused", tc.name, c)
		}
	}
	// And what proves: the same version, the same single-part ETag; a
	// multipart source by its checksum.
	src := Object{Size: 10, ETag: md5, VersionID: "v2", Checksum: Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}}
	c, err := provenCopy(src, CopyReport{ETag: md5, SourceVersionID: "v2", VersionID: "t1"}, "trash", "t", "GLACIER")
	if err != nil {
		t.Fatalf("the same version and ETag: %v", err)
	}
	if c.Size != 10 || c.Checksum != src.Checksum || c.VersionID != "t1" || c.StorageClass != "GLACIER" || c.Bucket != "trash" || c.Key != "t" {
		t.Errorf("proven copy %+v: want the source's size and checksum, the copy's version, class, bucket and key", c)
	}
	mp := Object{Size: 10, ETag: md5 + "-3", Checksum: Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}}
	if _, err := provenCopy(mp, CopyReport{ETag: md5, Checksum: mp.Checksum}, "trash", "t", ""); err != nil {
		t.Errorf("a multipart source whose copy's CRC32 equals its own: %v", err)
	}
}
