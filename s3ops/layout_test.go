package s3ops

import (
	"testing"

	"trashd/reconcile"
)

func TestInParts(t *testing.T) {
	const threshold = 100 << 20
	c := &Client{opts: Options{MultipartThreshold: threshold}}
	crc := reconcile.Checksum{Algorithm: "CRC32", Value: "MC6hbA=="}
	crcComposite := reconcile.Checksum{Algorithm: "CRC32", Value: "A5kPMg==-3"}
	sha := reconcile.Checksum{Algorithm: "SHA256", Value: "OiPoKHtzRXSca8149Fw/fJqWhHvPy79E86lsx2jd8nE="}
	const md5, multi = "70024b2a0ccc73f90f306208b5c4e3cc", "2b7797fb0ed5f38a86a7d2c320bfb692-3"
	tests := []struct {
		name string
		src  reconcile.Object
		want bool
	}{
		{"small single-part", reconcile.Object{Size: 10, ETag: md5}, false},
		{"large single-part without checksum keeps its MD5 ETag", reconcile.Object{Size: threshold + 1, ETag: md5}, false},
		{"large single-part with a SHA keeps it only in one piece", reconcile.Object{Size: threshold + 1, ETag: md5, Checksum: sha}, false},
		{"large single-part with a CRC", reconcile.Object{Size: threshold + 1, ETag: md5, Checksum: crc}, true},
		{"small single-part with a CRC", reconcile.Object{Size: threshold, ETag: md5, Checksum: crc}, false},
		{"over 5 GiB", reconcile.Object{Size: MaxCopyObjectSize + 1, ETag: md5}, true},
		{"small multipart without checksum is mirrored", reconcile.Object{Size: 12 << 20, ETag: multi}, true},
		{"small multipart with a composite checksum is mirrored", reconcile.Object{Size: 12 << 20, ETag: multi, Checksum: crcComposite}, true},
		{"small multipart with a full-object CRC", reconcile.Object{Size: 12 << 20, ETag: multi, Checksum: crc}, false},
		{"large multipart with a full-object CRC", reconcile.Object{Size: threshold + 1, ETag: multi, Checksum: crc}, true},
		{"large multipart", reconcile.Object{Size: threshold + 1, ETag: multi}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.inParts(tt.src); got != tt.want {
				t.Errorf("inParts(%+v) = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}

func TestFixedLayout(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name           string
		size, partSize int64
		wantParts      int
		wantLast       part
	}{
		{"exact", 10 * mib, 5 * mib, 2, part{n: 2, first: 5 * mib, last: 10*mib - 1}},
		{"remainder", 12 * mib, 5 * mib, 3, part{n: 3, first: 10 * mib, last: 12*mib - 1}},
		{"smaller than a part", 1, 5 * mib, 1, part{n: 1, first: 0, last: 0}},
		{"5 TiB grows the parts to stay within 10,000", 5 << 40, 256 * mib, 9987, part{n: 9987, first: 9986 * 525 * mib, last: 5<<40 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := fixedLayout(tt.size, tt.partSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tt.wantParts || parts[len(parts)-1] != tt.wantLast {
				t.Fatalf("fixedLayout(%d, %d): %d parts, last %+v; want %d, last %+v", tt.size, tt.partSize, len(parts), parts[len(parts)-1], tt.wantParts, tt.wantLast)
			}
			var next int64
			for i, p := range parts {
				if p.n != int32(i+1) || p.first != next || p.size() < 1 || p.size() > MaxPartSize {
					t.Fatalf("part %d = %+v: not contiguous or out of S3's limits", i, p)
				}
				next = p.last + 1
			}
			if next != tt.size {
				t.Errorf("parts cover %d bytes, want %d", next, tt.size)
			}
		})
	}
}

// TestFixedLayoutUpTo50TB: a new layout keeps within S3's limits for
// every size up to the largest object S3 takes (50 TB in AWS's words,
// 10,000 parts of 5 GiB in fact): at most 10,000 parts, each at most 5 GiB
// and, but the last, at least 5 MiB, with parts of at least
// ceil(size / 10,000), covering the size exactly. A larger size is refused.
func TestFixedLayoutUpTo50TB(t *testing.T) {
	const gib, tib = 1 << 30, 1 << 40
	tests := []struct {
		name      string
		size      int64
		wantParts int
	}{
		{"0 B", 0, 1},
		{"5 GiB", 5 * gib, 20},
		{"5 GiB + 1", 5*gib + 1, 21},
		{"5 TiB", 5 * tib, 9987},
		{"50 TB", 50_000_000_000_000, 9999},
		{"10,000 parts of 5 GiB", MaxObjectSize, MaxParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := fixedLayout(tt.size, DefaultPartSize)
			if err != nil {
				t.Fatalf("fixedLayout(%d): %v", tt.size, err)
			}
			if len(parts) != tt.wantParts || len(parts) > MaxParts {
				t.Errorf("%d parts, want %d (at most %d)", len(parts), tt.wantParts, MaxParts)
			}
			least := (tt.size + MaxParts - 1) / MaxParts
			var next int64
			for i, p := range parts {
				last := i == len(parts)-1
				switch {
				case p.n != int32(i+1) || p.first != next:
					t.Fatalf("part %d = %+v: not numbered in order or not contiguous", i, p)
				case p.size() > MaxPartSize:
					t.Fatalf("part %d = %+v: %d bytes, more than 5 GiB", i, p, p.size())
				case !last && (p.size() < MinPartSize || p.size() < least):
					t.Fatalf("part %d = %+v: %d bytes, less than 5 MiB or ceil(size / 10,000) = %d", i, p, p.size(), least)
				}
				next = p.last + 1
			}
			if next != tt.size {
				t.Errorf("parts cover %d bytes, want %d", next, tt.size)
			}
		})
	}
	if _, err := fixedLayout(MaxObjectSize+1, DefaultPartSize); err == nil {
		t.Errorf("fixedLayout of one byte more than 10,000 parts of 5 GiB: no error")
	}
}

func TestPartsChecksum(t *testing.T) {
	tests := []struct {
		sum               reconcile.Checksum
		wantAlg, wantType string
	}{
		{reconcile.Checksum{}, "", ""},
		{reconcile.Checksum{Algorithm: "CRC64NVME", Value: "qR+ZhiNliEk="}, "CRC64NVME", "FULL_OBJECT"},
		{reconcile.Checksum{Algorithm: "CRC32C", Value: "BEIpIw=="}, "CRC32C", "FULL_OBJECT"},
		{reconcile.Checksum{Algorithm: "SHA256", Value: "dh0DR5Cfe5T3796mY/CdcvZkvyTlfCAWznHuab3Bm+4=-3"}, "SHA256", "COMPOSITE"},
		{reconcile.Checksum{Algorithm: "SHA1", Value: "v+IFeLhqEeNkGzLPsh+Lin0wwXk="}, "", ""},
	}
	for _, tt := range tests {
		alg, typ := partsChecksum(tt.sum)
		if string(alg) != tt.wantAlg || string(typ) != tt.wantType {
			t.Errorf("partsChecksum(%+v) = %q, %q; want %q, %q", tt.sum, alg, typ, tt.wantAlg, tt.wantType)
		}
	}
}

func TestEtagParts(t *testing.T) {
	for etag, want := range map[string]int{
		"70024b2a0ccc73f90f306208b5c4e3cc":       0,
		`"2b7797fb0ed5f38a86a7d2c320bfb692-3"`:   3,
		"2b7797fb0ed5f38a86a7d2c320bfb692-10000": 10000,
		"abc-0":                                  0,
		"abc-x":                                  0,
		"abc-10001":                              0,
		"":                                       0,
	} {
		if got := etagParts(etag); got != want {
			t.Errorf("etagParts(%q) = %d, want %d", etag, got, want)
		}
	}
}
