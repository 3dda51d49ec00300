package reconcile

import (
	"errors"
	"testing"
)

func TestVerifyCopy(t *testing.T) {
	t.Parallel()
	src := Object{Bucket: "src", Key: "k", Size: 10, ETag: "abc"}
	crc := Checksum{Algorithm: "CRC32C", Value: "AAAA"}
	for _, tc := range []struct {
		name   string
		src    Object
		dst    Object
		wantOK bool
	}{
		{"same size and etag", src, Object{Size: 10, ETag: "abc"}, true},
		{"size differs", src, Object{Size: 9, ETag: "abc"}, false},
		{"etag differs, no checksum", src, Object{Size: 10, ETag: "def"}, false},
		{"etag differs, same checksum", withChecksum(src, crc), Object{Size: 10, ETag: "def", Checksum: crc}, true},
		{"same etag, checksum differs", withChecksum(src, crc), Object{Size: 10, ETag: "abc", Checksum: Checksum{"CRC32C", "BBBB"}}, false},
		{"checksum of another algorithm falls back to etag", withChecksum(src, crc), Object{Size: 10, ETag: "abc", Checksum: Checksum{"CRC32", "BBBB"}}, true},
		{"empty etags prove nothing", Object{Size: 0}, Object{Size: 0}, false},
	} {
		err := verifyCopy(tc.src, tc.dst)
		if tc.wantOK && err != nil {
			t.Errorf("%s: verifyCopy = %v, want ok", tc.name, err)
		}
		if !tc.wantOK && !errors.Is(err, ErrVerify) {
			t.Errorf("%s: verifyCopy = %v, want ErrVerify", tc.name, err)
		}
	}
}

func withChecksum(o Object, c Checksum) Object { o.Checksum = c; return o }

// A copy without a checksum, of a source that has one, is proven by its ETag
// alone: verifyCopy falls back to comparing ETags (there is no common
// checksum), so a different ETag fails and an equal one passes. A copy that
// lost its checksum is never accepted on its size alone.
func TestRuleVerifyCopyWithoutChecksum(t *testing.T) {
	t.Parallel()
	src := withChecksum(Object{Bucket: "src", Key: "k", Size: 10, ETag: "abc"}, Checksum{Algorithm: "CRC32", Value: "AAAA"})
	if err := verifyCopy(src, Object{Bucket: "trash", Key: "1/k", Size: 10, ETag: "def"}); !errors.Is(err, ErrVerify) {
		t.Errorf("copy without a checksum and another ETag: verifyCopy = %v, want ErrVerify", err)
	}
	if err := verifyCopy(src, Object{Bucket: "trash", Key: "1/k", Size: 10, ETag: "abc"}); err != nil {
		t.Errorf("copy without a checksum and the same ETag: verifyCopy = %v, want ok", err)
	}
	if err := verifyCopy(src, Object{Bucket: "trash", Key: "1/k", Size: 10}); !errors.Is(err, ErrVerify) {
		t.Errorf("copy without a checksum or an ETag: verifyCopy = %v, want ErrVerify", err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	r := &Runner{cfg: Config{BackoffBase: 10, BackoffMax: 100}}
	for _, tc := range []struct {
		attempts int
		lo, hi   int64
	}{{1, 5, 10}, {2, 10, 20}, {3, 20, 40}, {4, 40, 80}, {5, 50, 100}, {30, 50, 100}} {
		for range 50 {
			if d := int64(r.backoff(tc.attempts)); d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d) = %d, want within [%d, %d]", tc.attempts, d, tc.lo, tc.hi)
			}
		}
	}
}
