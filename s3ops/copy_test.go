package s3ops_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// longKey is a 1,024-byte key (S3's maximum) made of short segments, which
// every server accepts (SeaweedFS refuses segments over 255 bytes).
func longKey() string {
	var b strings.Builder
	for b.Len() < 1024-16 {
		b.WriteString("segment-0123456/")
	}
	k := b.String()
	return k + strings.Repeat("k", 1024-len(k))
}

func TestCopyOddKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		key  string
		body []byte
	}{
		{"unicode", "Übungen/日本語/ファイル ü.pdf", []byte("unicode")},
		{"spaces", "my files/final version (2).docx", []byte("spaces")},
		{"plus", "c++/a+b=c.txt", []byte("plus")},
		{"percent", "100%/50%25 off.txt", []byte("percent")},
		{"question mark", "what?/really?.txt", []byte("question")},
		{"hash", "c#/notes #1.md", []byte("hash")},
		{"ampersand and quote", `a&b/"quoted" 'single'.txt`, []byte("amp")},
		{"deep path", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/file", []byte("deep")},
		{"1024-byte key", longKey(), []byte("long")},
		{"zero bytes", "empty/file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.name, "1024") && len(tt.key) != 1024 {
				t.Fatalf("long key is %d bytes", len(tt.key))
			}
			src := b.put(t, tt.key, tt.body)
			dstKey := "trash/" + tt.key
			if len(dstKey) > 1024 {
				dstKey = tt.key
			}
			if err := b.client.Copy(t.Context(), src, b.trash, dstKey, reconcile.CopyOptions{}); err != nil {
				t.Fatalf("Copy: %v", err)
			}
			copy := b.head(t, b.trash, dstKey)
			if copy.Size != src.Size || copy.ETag != src.ETag {
				t.Errorf("copy size %d ETag %s, want %d %s", copy.Size, copy.ETag, src.Size, src.ETag)
			}
			if got := s3test.Get(t, b.s3, b.trash, dstKey); !bytes.Equal(got, tt.body) {
				t.Errorf("copy holds %q, want %q", got, tt.body)
			}
		})
	}
}

// TestCopyObjectKeepsETagAndChecksum pins what a single CopyObject proof
// relies on: the copy has the source's ETag and the source's checksum.
func TestCopyObjectKeepsETagAndChecksum(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, alg := range []types.ChecksumAlgorithm{"", "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"} {
		t.Run(cmpOr(string(alg), "none"), func(t *testing.T) {
			key := "sum/" + cmpOr(string(alg), "none")
			src := b.put(t, key, s3test.RandomBytes(4096), func(in *s3.PutObjectInput) {
				in.ContentType = aws.String("application/pdf")
				in.Metadata = map[string]string{"lms-id": "42"}
				in.ChecksumAlgorithm = alg
			})
			if err := b.client.Copy(t.Context(), src, b.trash, key, reconcile.CopyOptions{}); err != nil {
				t.Fatalf("Copy: %v", err)
			}
			copy := b.head(t, b.trash, key)
			if copy.ETag != src.ETag || copy.Size != src.Size || copy.Checksum != src.Checksum {
				t.Errorf("copy %+v\nsource %+v: want the same size, ETag and checksum", copy, src)
			}
			out, err := b.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.trash, Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.ContentType) != "application/pdf" || out.Metadata["lms-id"] != "42" {
				t.Errorf("copy content type %q metadata %v, want the source's", aws.ToString(out.ContentType), out.Metadata)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestCopyVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s3test.EnableVersioning(t, b.s3, b.src)
	v1 := b.put(t, "doc.txt", []byte("first"))
	b.put(t, "doc.txt", []byte("second, longer"))
	if v1.VersionID == "" {
		t.Fatal("no version ID on a versioned bucket")
	}
	// Copy the recorded (now noncurrent) version, not the latest one.
	if err := b.client.Copy(t.Context(), v1, b.trash, "doc.txt", reconcile.CopyOptions{}); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if got := s3test.Get(t, b.s3, b.trash, "doc.txt"); string(got) != "first" {
		t.Errorf("copy holds %q, want the recorded version's %q", got, "first")
	}
}

func TestCopyStaleETag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "changing.txt", []byte("as recorded"))
	b.put(t, "changing.txt", []byte("overwritten since"))
	err := b.client.Copy(t.Context(), src, b.trash, "changing.txt", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("Copy of an overwritten source: %v, want ErrPreconditionFailed", err)
	}
	if _, err := b.client.Head(t.Context(), b.trash, "changing.txt"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("a copy was made anyway: Head = %v", err)
	}
}

func TestCopyMissingSource(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := reconcile.Object{Bucket: b.src, Key: "gone.txt", Size: 3, ETag: "acbd18db4cc2f85cedef654fccc4a4d8"}
	if err := b.client.Copy(t.Context(), src, b.trash, "gone.txt", reconcile.CopyOptions{}); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("Copy of a missing source: %v, want ErrNotFound", err)
	}
}

func TestCopyToMissingBucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "a.txt", []byte("a"))
	missing := s3test.BucketName("no-such-trash")
	err := b.client.Copy(t.Context(), src, missing, "a.txt", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Copy to a missing bucket: %v, want ErrPermanent naming %s", err, missing)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "a.txt", []byte("a"))
	good, err := s3test.Options(t).Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, access, secret, want string
	}{
		{"unknown access key", "no-such-key", "whatever", "check the AWS credentials"},
		{"wrong secret", good.AccessKeyID, "wrong-secret", "check the AWS credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := s3test.Options(t)
			o.Credentials = credentials.NewStaticCredentialsProvider(tt.access, tt.secret, "")
			c := s3test.NewClient(t, o)
			err := c.Copy(t.Context(), src, b.trash, "a.txt", reconcile.CopyOptions{})
			if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Copy: %v, want ErrPermanent saying %q", err, tt.want)
			}
			if _, err := c.Head(t.Context(), b.src, "a.txt"); !errors.Is(err, reconcile.ErrPermanent) {
				t.Errorf("Head: %v, want ErrPermanent", err)
			}
		})
	}
}

// TestDotDotKey pins that SeaweedFS refuses keys with a ".." segment (AWS
// accepts them) with a 400, and that the error is permanent and says why.
func TestDotDotKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "fine.txt", []byte("fine"))
	const bad = "course/../etc/passwd"
	err := b.client.Copy(t.Context(), src, b.trash, bad, reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), `".." segment`) ||
		!strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "InvalidRequest") {
		t.Errorf("Copy to a key with a .. segment: %v, want ErrPermanent with the server's code, the key and the reason", err)
	}
	_, err = b.client.Head(t.Context(), b.src, bad)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), `".." segment`) {
		t.Errorf("Head of a key with a .. segment: %v, want ErrPermanent saying why", err)
	}
}

// TestTransient pins that 5xx answers come back as ErrTransient after the
// SDK's own retries: each call's direct request (direct.go), then the SDK's
// attempts.
func TestTransient(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."}
	})
	b := setup(t, func(o *s3ops.Options) { o.HTTPClient = ft.Client() })
	src := reconcile.Object{Bucket: b.src, Key: "a.txt", Size: 1, ETag: "0cc175b9c0f1b6a831c399e269772661"}

	_, err := b.client.Head(t.Context(), b.src, "a.txt")
	if !errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("Head: %v, want ErrTransient", err)
	}
	err = b.client.Copy(t.Context(), src, b.trash, "a.txt", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("Copy: %v, want ErrTransient", err)
	}
	if got, want := len(ft.Requests()), 2*(1+s3ops.DefaultRetryMaxAttempts); got != want {
		t.Errorf("%d requests reached the transport, want %d (a direct request and %d attempts through the SDK each): %v", got, want, s3ops.DefaultRetryMaxAttempts, ft.Requests())
	}
}

// TestCallerCancel pins that the caller's own cancellation comes back as
// context.Canceled, not as a transient or permanent failure.
func TestCallerCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault { return s3test.Fault{Release: release} })
	b := setup(t, func(o *s3ops.Options) { o.HTTPClient = ft.Client() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.client.Head(ctx, b.src, "a.txt")
	if !errors.Is(err, context.Canceled) || errors.Is(err, reconcile.ErrTransient) || errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("Head with a cancelled context: %v, want context.Canceled and no sentinel", err)
	}
}

// TestLongSegmentKey pins how SeaweedFS treats a key with a segment over
// 255 bytes (AWS accepts it): a copy to it fails with 500 InternalError,
// which stays transient but says what is wrong with the key, and a HEAD of
// it finds nothing.
func TestLongSegmentKey(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *s3ops.Options) { o.RetryMaxAttempts = 1 })
	src := b.put(t, "fine.txt", []byte("fine"))
	long := "course/" + strings.Repeat("x", 300) + ".txt"
	err := b.client.Copy(t.Context(), src, b.trash, long, reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrTransient) || !strings.Contains(err.Error(), "segment of 304 bytes") {
		t.Errorf("Copy to a key with a 304-byte segment: %v, want ErrTransient naming the long segment", err)
	}
	if _, err := b.client.Head(t.Context(), b.src, long); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("Head of a key with a 304-byte segment: %v, want ErrNotFound", err)
	}
}
