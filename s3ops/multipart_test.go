package s3ops_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

const mib = 1 << 20

// lowThreshold makes a 12 MiB source big enough for a multipart copy.
func lowThreshold(o *s3ops.Options) {
	o.MultipartThreshold = 5 * mib
	o.PartSize = 5 * mib
	o.PartConcurrency = 2
}

// counting puts a pass-through FaultTransport under the client, to count
// which operations the copy used.
func counting(ft *s3test.FaultTransport) func(*s3ops.Options) {
	return func(o *s3ops.Options) { o.HTTPClient = ft.Client() }
}

func countOps(ft *s3test.FaultTransport, op string) int {
	n := 0
	for _, r := range ft.Requests() {
		if strings.HasPrefix(r, op+" ") {
			n++
		}
	}
	return n
}

// TestCopyMultipartMirrorsLayout pins that a multipart copy mirroring the
// source's parts gets the source's composite ETag, and that content type,
// content headers, metadata and tags are carried onto it.
func TestCopyMultipartMirrorsLayout(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(nil)
	b := setup(t, lowThreshold, counting(ft))
	body := s3test.RandomBytes(12 * mib)
	tags := map[string]string{"course": "bio 101", "state": "trashed/by user+1"}
	s3test.PutMultipart(t, b.s3, b.src, "big/lecture.mp4", body, 5*mib, func(in *s3.CreateMultipartUploadInput) {
		in.ContentType = aws.String("video/mp4")
		in.CacheControl = aws.String("max-age=3600")
		in.ContentDisposition = aws.String(`attachment; filename="lecture 1.mp4"`)
		in.ContentLanguage = aws.String("de")
		in.Metadata = map[string]string{"lms-id": "42", "uploaded-by": "teacher"}
		in.Tagging = aws.String(s3test.Tagging(tags))
	})
	src := b.head(t, b.src, "big/lecture.mp4")
	if !strings.HasSuffix(src.ETag, "-3") {
		t.Fatalf("source ETag %q: want a 3-part multipart ETag", src.ETag)
	}

	if err := b.client.Copy(t.Context(), src, b.trash, "t/lecture.mp4", reconcile.CopyOptions{}); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if got := countOps(ft, "UploadPartCopy"); got != 3 {
		t.Errorf("%d UploadPartCopy requests, want 3 (the source's parts): %v", got, ft.Requests())
	}
	copy := b.head(t, b.trash, "t/lecture.mp4")
	if copy.ETag != src.ETag || copy.Size != src.Size {
		t.Errorf("copy ETag %s size %d, want the source's %s %d", copy.ETag, copy.Size, src.ETag, src.Size)
	}
	if !bytes.Equal(s3test.Get(t, b.s3, b.trash, "t/lecture.mp4"), body) {
		t.Error("copy's bytes differ from the source's")
	}
	out, err := b.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.trash, Key: aws.String("t/lecture.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{aws.ToString(out.ContentType), aws.ToString(out.CacheControl), aws.ToString(out.ContentDisposition), aws.ToString(out.ContentLanguage)}
	want := []string{"video/mp4", "max-age=3600", `attachment; filename="lecture 1.mp4"`, "de"}
	if !slices.Equal(got, want) {
		t.Errorf("copy content headers %q, want %q", got, want)
	}
	if wantMeta := map[string]string{"lms-id": "42", "uploaded-by": "teacher"}; !maps.Equal(out.Metadata, wantMeta) {
		t.Errorf("copy metadata %v, want %v", out.Metadata, wantMeta)
	}
	if got := s3test.Tags(t, b.s3, b.trash, "t/lecture.mp4"); !maps.Equal(got, tags) {
		t.Errorf("copy tags %v, want %v", got, tags)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
}

// TestCopySmallMultipartIsMirrored: a multipart source with no full-object
// checksum is copied in mirrored parts even below the threshold, because a
// CopyObject would give it a plain MD5 ETag on AWS.
func TestCopySmallMultipartIsMirrored(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(nil)
	b := setup(t, counting(ft)) // default threshold: 5 GiB
	s3test.PutMultipart(t, b.s3, b.src, "small-mp", s3test.RandomBytes(6*mib), 5*mib)
	src := b.head(t, b.src, "small-mp")
	if err := b.client.Copy(t.Context(), src, b.trash, "small-mp", reconcile.CopyOptions{}); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if countOps(ft, "CopyObject") != 0 || countOps(ft, "UploadPartCopy") != 2 {
		t.Errorf("requests %v: want 2 UploadPartCopy and no CopyObject", ft.Requests())
	}
	assertProvableCopy(t, src, b.head(t, b.trash, "small-mp"))
	if copy := b.head(t, b.trash, "small-mp"); copy.ETag != src.ETag {
		t.Errorf("copy ETag %s, want %s", copy.ETag, src.ETag)
	}
}

// TestCopyMultipartChecksums pins that the server computes the checksum
// asked of a multipart copy, so that it equals the source's: FULL_OBJECT
// CRCs over fixed-size parts of a single-part source, and composite
// checksums over mirrored parts.
func TestCopyMultipartChecksums(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(nil)
	b := setup(t, lowThreshold, counting(ft))
	body := s3test.RandomBytes(12 * mib)
	for _, alg := range []types.ChecksumAlgorithm{"CRC32", "CRC32C", "CRC64NVME"} {
		key := "single/" + string(alg)
		s3test.PutObject(t, b.s3, b.src, key, body, func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = alg })
	}
	s3test.PutMultipart(t, b.s3, b.src, "multi/CRC32C", body, 5*mib, func(in *s3.CreateMultipartUploadInput) {
		in.ChecksumAlgorithm = "CRC32C"
	})
	s3test.PutMultipart(t, b.s3, b.src, "multi/SHA256", body, 5*mib, func(in *s3.CreateMultipartUploadInput) {
		in.ChecksumAlgorithm = "SHA256"
	})
	s3test.PutMultipart(t, b.s3, b.src, "multi/CRC64NVME-full", body, 5*mib, func(in *s3.CreateMultipartUploadInput) {
		in.ChecksumAlgorithm = "CRC64NVME"
		in.ChecksumType = types.ChecksumTypeFullObject
	})
	for _, key := range []string{"single/CRC32", "single/CRC32C", "single/CRC64NVME", "multi/CRC32C", "multi/SHA256", "multi/CRC64NVME-full"} {
		t.Run(key, func(t *testing.T) {
			src := b.head(t, b.src, key)
			if src.Checksum.Value == "" {
				t.Fatalf("source has no checksum: %+v", src)
			}
			before := countOps(ft, "UploadPartCopy")
			if err := b.client.Copy(t.Context(), src, b.trash, key, reconcile.CopyOptions{}); err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if countOps(ft, "UploadPartCopy") == before {
				t.Errorf("copied without UploadPartCopy")
			}
			copy := b.head(t, b.trash, key)
			if copy.Checksum != src.Checksum || copy.Size != src.Size {
				t.Errorf("copy checksum %+v size %d, want the source's %+v %d", copy.Checksum, copy.Size, src.Checksum, src.Size)
			}
		})
	}
}

// TestCopyMultipartStaleETag: the source is overwritten after the upload
// started; the next UploadPartCopy's x-amz-copy-source-if-match fails, and
// the upload is aborted.
func TestCopyMultipartStaleETag(t *testing.T) {
	t.Parallel()
	held := make(chan struct{})
	release := make(chan struct{})
	first := s3test.Once(s3test.Match("UploadPartCopy", ""))
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if first(r) {
			close(held)
			return s3test.Fault{Release: release}
		}
		return s3test.Fault{}
	})
	b := setup(t, lowThreshold, counting(ft), func(o *s3ops.Options) { o.PartConcurrency = 1 })
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	errc := make(chan error, 1)
	go func() {
		errc <- b.client.Copy(context.WithoutCancel(t.Context()), src, b.trash, "mp", reconcile.CopyOptions{})
	}()
	<-held
	s3test.PutObject(t, b.s3, b.src, "mp", []byte("overwritten while the copy ran"))
	close(release)

	if err := <-errc; !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("Copy: %v, want ErrPreconditionFailed", err)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
	if countOps(ft, "AbortMultipartUpload") != 1 {
		t.Errorf("requests %v: want one AbortMultipartUpload", ft.Requests())
	}
}

// TestCopyMultipartAbortsOnPartFailure: part 2 fails on every attempt; the
// copy fails as transient and leaves no upload behind.
func TestCopyMultipartAbortsOnPartFailure(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "UploadPartCopy" && r.URL.Query().Get("partNumber") == "2" {
			return s3test.Fault{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."}
		}
		return s3test.Fault{}
	})
	b := setup(t, lowThreshold, counting(ft))
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	err := b.client.Copy(t.Context(), src, b.trash, "mp", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrTransient) || !strings.Contains(err.Error(), "part 2 of 3") {
		t.Fatalf("Copy: %v, want ErrTransient naming part 2 of 3", err)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
	if _, err := b.client.Head(t.Context(), b.trash, "mp"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("a copy exists after the failure: %v", err)
	}
}

// TestCopyMultipartAbortsOnCancel: the caller's context is cancelled while
// a part is in flight; the abort still goes out.
func TestCopyMultipartAbortsOnCancel(t *testing.T) {
	t.Parallel()
	held := make(chan struct{})
	var once sync.Once
	never := make(chan struct{})
	t.Cleanup(func() { close(never) })
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "UploadPartCopy" && r.URL.Query().Get("partNumber") == "2" {
			once.Do(func() { close(held) })
			return s3test.Fault{Release: never}
		}
		return s3test.Fault{}
	})
	b := setup(t, lowThreshold, counting(ft))
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- b.client.Copy(ctx, src, b.trash, "mp", reconcile.CopyOptions{}) }()
	<-held
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || errors.Is(err, reconcile.ErrTransient) {
		t.Fatalf("Copy: %v, want context.Canceled without a sentinel", err)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
}

// TestCopyMultipartOnUpload: OnUpload hears the upload ID before any part
// is copied; when a part then fails, the copy aborts the upload itself, and
// an AbortUpload of the recorded ID afterwards finds it gone, which is not an
// error.
func TestCopyMultipartOnUpload(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Nth(2, s3test.Match("UploadPartCopy", "")), s3test.Fault{
		Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again.",
	}))
	b := setup(t, lowThreshold, counting(ft), func(o *s3ops.Options) {
		o.PartConcurrency = 1
		o.RetryMaxAttempts = 1 // the 2nd part fails for good
	})
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	var ids []string
	partsBefore := -1
	err := b.client.Copy(t.Context(), src, b.trash, "mp", reconcile.CopyOptions{OnUpload: func(id string) error {
		ids = append(ids, id)
		partsBefore = countOps(ft, "UploadPartCopy")
		return nil
	}})
	if !errors.Is(err, reconcile.ErrTransient) {
		t.Fatalf("Copy = %v, want the 2nd part's transient error", err)
	}
	if len(ids) != 1 || ids[0] == "" || partsBefore != 0 {
		t.Fatalf("OnUpload heard %q with %d parts copied before; want one ID, before any part", ids, partsBefore)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
	if err := b.client.AbortUpload(t.Context(), b.trash, "mp", ids[0]); err != nil {
		t.Errorf("AbortUpload of the aborted upload: %v, want nil", err)
	}
}

// TestCopyMultipartOnUploadFails: an error from OnUpload (the ID could not
// be recorded) stops the copy before any part and aborts the upload.
func TestCopyMultipartOnUploadFails(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(nil)
	b := setup(t, lowThreshold, counting(ft))
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	errRecord := errors.New("database unavailable")
	err := b.client.Copy(t.Context(), src, b.trash, "mp", reconcile.CopyOptions{OnUpload: func(string) error { return errRecord }})
	if !errors.Is(err, errRecord) {
		t.Fatalf("Copy = %v, want OnUpload's error", err)
	}
	if n := countOps(ft, "UploadPartCopy"); n != 0 {
		t.Errorf("%d UploadPartCopy requests after OnUpload failed, want none", n)
	}
	if n := countOps(ft, "AbortMultipartUpload"); n != 1 {
		t.Errorf("%d AbortMultipartUpload requests, want 1: %v", n, ft.Requests())
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
}

// TestAbortUploadAfterCrash: a copy stops without aborting its upload (the
// context is cancelled and the abort never reaches the server, as when the
// process dies); the ID that OnUpload recorded is all another client needs
// to remove the upload.
func TestAbortUploadAfterCrash(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Match("AbortMultipartUpload", ""), s3test.Fault{Err: syscall.ECONNRESET}))
	b := setup(t, lowThreshold, counting(ft))
	s3test.PutMultipart(t, b.s3, b.src, "mp", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "mp")

	ctx, cancel := context.WithCancel(t.Context())
	var id string
	err := b.client.Copy(ctx, src, b.trash, "mp", reconcile.CopyOptions{OnUpload: func(uploadID string) error {
		id = uploadID
		cancel() // the process dies here
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy = %v, want context.Canceled", err)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 1 || id == "" {
		t.Fatalf("uploads left %v, recorded ID %q: want the one upload, recorded", up, id)
	}

	cleaner := s3test.NewClient(t, s3test.Options(t))
	if err := cleaner.AbortUpload(t.Context(), b.trash, "mp", id); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("uploads left after AbortUpload: %v", up)
	}
	// Again, and an ID the server never issued: already gone, not an error.
	for _, id := range []string{id, "no-such-upload"} {
		if err := cleaner.AbortUpload(t.Context(), b.trash, "mp", id); err != nil {
			t.Errorf("AbortUpload(%q) of a gone upload: %v, want nil", id, err)
		}
	}
	// A missing bucket is an error, not "gone".
	if err := cleaner.AbortUpload(t.Context(), s3test.BucketName("missing"), "mp", id); !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("AbortUpload in a missing bucket: %v, want ErrPermanent", err)
	}
}
