package glacier

import (
	"encoding/binary"
	"hash/crc64"
	"net/http"
	"testing"
	"time"
)

func TestParseCopySource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header string
		want   objectVersion
		ok     bool
	}{
		{"b/k", objectVersion{"b", "k", ""}, true},
		{"/b/dir/k.txt", objectVersion{"b", "dir/k.txt", ""}, true},
		{"b/odd%20key%20+%20%C3%BC%3Fx%3D1%23frag", objectVersion{"b", "odd key + ü?x=1#frag", ""}, true},
		{"b/k%2Fslash", objectVersion{"b", "k/slash", ""}, true},
		{"b/k?versionId=3%2Fx", objectVersion{"b", "k", "3/x"}, true},
		{"b/100%25", objectVersion{"b", "100%", ""}, true},
		{"b", objectVersion{}, false},
		{"/b/", objectVersion{}, false},
		{"b/bad%zz", objectVersion{}, false},
	} {
		got, ok := parseCopySource(c.header)
		if got != c.want || ok != c.ok {
			t.Errorf("parseCopySource(%q) = %+v, %v; want %+v, %v", c.header, got, ok, c.want, c.ok)
		}
	}
}

// TestCopySourceRoundTrip: what the sweep sends parses back to the key.
func TestCopySourceRoundTrip(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"plain", "dir/sub/k", "odd key + ü?x=1#frag", "100%", "~tilde_-."} {
		if got, ok := parseCopySource(copySource("bucket", key)); !ok || got.Key != key || got.Bucket != "bucket" {
			t.Errorf("copySource(%q) = %q reads back as %+v", key, copySource("bucket", key), got)
		}
	}
}

// TestCRC64NVME pins the table against the algorithm's check value.
func TestCRC64NVME(t *testing.T) {
	t.Parallel()
	h := crc64.New(crc64.MakeTable(crc64NVME))
	h.Write([]byte("123456789"))
	if got := binary.BigEndian.Uint64(h.Sum(nil)); got != 0xAE8B14860A799888 {
		t.Errorf("CRC-64/NVME check = %#x, want 0xae8b14860a799888", got)
	}
}

func TestDecodeAWSChunked(t *testing.T) {
	t.Parallel()
	body := "5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	trailer := http.Header{}
	got, err := decodeAWSChunked([]byte(body), trailer)
	if err != nil || string(got) != "hello world" || trailer.Get("X-Amz-Checksum-Crc32") != "DUoRhQ==" {
		t.Errorf("decodeAWSChunked = %q, %v, trailer %v", got, err, trailer)
	}
	if e := checkDigests(got, http.Header{}, trailer); e != nil {
		t.Errorf("trailer checksum of %q: %v", got, e)
	}
	if _, err := decodeAWSChunked([]byte("5\r\nhel"), http.Header{}); err == nil {
		t.Error("a truncated chunk decoded")
	}
}

// TestAfter: days count on the accelerated clock and round up to the next
// day boundary, as S3 rounds up to midnight UTC.
func TestAfter(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Target: "http://127.0.0.1:1", DayLength: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 1, 15, 4, 5, 0, time.UTC)
	for days, want := range map[int64]time.Time{
		0:  time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		1:  time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC),
		30: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got := s.after(created, days); !got.Equal(want) {
			t.Errorf("after(%v, %d) = %v, want %v", created, days, got, want)
		}
	}
	if got := s.after(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 1); !got.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after a midnight: %v", got)
	}
	if got := s.after(created, 1<<40); !got.Equal(never) {
		t.Errorf("after 2^40 days: %v, want never", got)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Target: "http://127.0.0.1:1", DayLength: 10 * time.Millisecond,
		Restore: map[string]time.Duration{TierBulk: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{TierExpedited: 10 * time.Millisecond, TierStandard: 30 * time.Millisecond, TierBulk: time.Minute}
	for tier, d := range want {
		if s.cfg.Restore[tier] != d {
			t.Errorf("restore delay for %s = %v, want %v", tier, s.cfg.Restore[tier], d)
		}
	}
	if s.cfg.MinTransitionSize != 128<<10 || s.cfg.Region != "us-east-1" {
		t.Errorf("defaults: %+v", s.cfg)
	}
	for _, bad := range []Config{
		{},
		{Target: "ftp://x"},
		{Target: "http://x", DayLength: -1},
		{Target: "http://x", Restore: map[string]time.Duration{"Fast": time.Second}},
		{Target: "http://x", AccessKey: "only-one"},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}
