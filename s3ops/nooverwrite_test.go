package s3ops_test

import (
	"bytes"
	"cmp"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// copyPath is one of the two ways Copy goes, with a source that takes it:
// one CopyObject for a small single-part source, a multipart copy for a
// source uploaded in parts (with the threshold lowered, as for a large one).
type copyPath struct {
	name      string
	opts      func(*s3ops.Options)
	wantOp    string // the request that copies the bytes
	multipart bool
}

var copyPaths = []copyPath{
	{name: "CopyObject", opts: func(*s3ops.Options) {}, wantOp: "CopyObject"},
	{name: "multipart", opts: func(o *s3ops.Options) {
		o.MultipartThreshold = 5 << 20
		o.PartSize = 5 << 20
		o.PartConcurrency = 2
	}, wantOp: "UploadPartCopy", multipart: true},
}

// source uploads body to the source bucket the way p needs it (in 5 MiB
// parts for a multipart copy) with the storage class class ("" for the
// default), and returns its HEAD.
func (p copyPath) source(t *testing.T, b *testBundle, key string, body []byte, class types.StorageClass) reconcile.Object {
	t.Helper()
	if p.multipart {
		s3test.PutMultipart(t, b.s3, b.src, key, body, 5<<20, func(in *s3.CreateMultipartUploadInput) { in.StorageClass = class })
		src := b.head(t, b.src, key)
		if !strings.HasSuffix(src.ETag, "-3") {
			t.Fatalf("source ETag %q: want a 3-part multipart ETag", src.ETag)
		}
		return src
	}
	return b.put(t, key, body, func(in *s3.PutObjectInput) { in.StorageClass = class })
}

func (p copyPath) body() []byte {
	if p.multipart {
		return s3test.RandomBytes(12 << 20)
	}
	return s3test.RandomBytes(64 << 10)
}

// setupPath is setup for p, with a pass-through transport that records
// which requests the copies made.
func setupPath(t *testing.T, p copyPath) (*testBundle, *s3test.FaultTransport) {
	t.Helper()
	ft := s3test.NewFaultTransport(nil)
	return setup(t, p.opts, func(o *s3ops.Options) { o.HTTPClient = ft.Client() }), ft
}

// requestsOf counts the requests of operation op among ft's.
func requestsOf(ft *s3test.FaultTransport, op string) int {
	n := 0
	for _, r := range ft.Requests() {
		if strings.HasPrefix(r, op+" ") {
			n++
		}
	}
	return n
}

// TestCopyNoOverwrite pins what a restore relies on: a copy back to the
// LMS's bucket never replaces a file that is already at the key.
func TestCopyNoOverwrite(t *testing.T) {
	t.Parallel()
	for _, p := range copyPaths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			b, ft := setupPath(t, p)
			ctx := t.Context()
			body := p.body()
			src := p.source(t, b, "course/video.mp4", body, "")
			noOverwrite := reconcile.CopyOptions{NoOverwrite: true}

			// The key is free: the copy is made.
			if err := b.client.Copy(ctx, src, b.trash, "free.mp4", noOverwrite); err != nil {
				t.Fatalf("Copy to a free key: %v", err)
			}
			if requestsOf(ft, p.wantOp) == 0 {
				t.Fatalf("requests %v: want %s", ft.Requests(), p.wantOp)
			}
			assertProvableCopy(t, src, b.head(t, b.trash, "free.mp4"))
			if !bytes.Equal(s3test.Get(t, b.s3, b.trash, "free.mp4"), body) {
				t.Error("the copy's bytes differ from the source's")
			}

			// The key is taken, by another file or by the copy just made:
			// the copy fails and what is there stays, byte for byte.
			theirs := []byte("the LMS put a new file here since")
			s3test.PutObject(t, b.s3, b.trash, "taken.mp4", theirs)
			for _, key := range []string{"taken.mp4", "free.mp4"} {
				before := b.head(t, b.trash, key)
				want := s3test.Get(t, b.s3, b.trash, key)
				err := b.client.Copy(ctx, src, b.trash, key, noOverwrite)
				if !errors.Is(err, reconcile.ErrPreconditionFailed) {
					t.Errorf("Copy onto existing %s = %v, want ErrPreconditionFailed", key, err)
				}
				// Only CompleteMultipartUpload's 412 is about the
				// destination alone; CopyObject's may be the source's.
				if errors.Is(err, s3ops.ErrDestinationExists) != p.multipart {
					t.Errorf("Copy onto existing %s = %v: ErrDestinationExists %v, want %v", key, err, !p.multipart, p.multipart)
				}
				if after := b.head(t, b.trash, key); after.ETag != before.ETag || after.Size != before.Size ||
					!after.LastModified.Equal(before.LastModified) {
					t.Errorf("%s changed: before %+v\nafter %+v", key, before, after)
				}
				if got := s3test.Get(t, b.s3, b.trash, key); !bytes.Equal(got, want) {
					t.Errorf("%s holds other bytes after a refused copy (%d bytes, want %d)", key, len(got), len(want))
				}
			}
			// A refused multipart copy leaves no parts behind.
			if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
				t.Errorf("unfinished uploads left: %v", up)
			}

			// Without NoOverwrite the same copy replaces the file: the
			// option is what protected it.
			if err := b.client.Copy(ctx, src, b.trash, "taken.mp4", reconcile.CopyOptions{}); err != nil {
				t.Fatalf("Copy onto an existing key without NoOverwrite: %v", err)
			}
			if !bytes.Equal(s3test.Get(t, b.s3, b.trash, "taken.mp4"), body) {
				t.Error("Copy without NoOverwrite did not replace the file")
			}
		})
	}
}

// TestCopyStorageClass pins that a copy lands in the class asked for: the
// archive class in direct mode, and STANDARD for a restore, even from an
// archived copy (some servers keep the source's class on a copy that names
// none).
func TestCopyStorageClass(t *testing.T) {
	t.Parallel()
	for _, p := range copyPaths {
		for _, tc := range []struct {
			from, to types.StorageClass
		}{
			{"", "GLACIER"},
			{"GLACIER", "STANDARD"},
		} {
			t.Run(p.name+"/"+string(tc.to), func(t *testing.T) {
				t.Parallel()
				b, ft := setupPath(t, p)
				body := p.body()
				src := p.source(t, b, "doc.pdf", body, tc.from)
				if src.StorageClass != string(tc.from) {
					t.Fatalf("source class %q, want %q", src.StorageClass, tc.from)
				}
				opts := reconcile.CopyOptions{StorageClass: string(tc.to), NoOverwrite: true}
				if err := b.client.Copy(t.Context(), src, b.trash, "copy.pdf", opts); err != nil {
					t.Fatalf("Copy with class %s: %v", tc.to, err)
				}
				if requestsOf(ft, p.wantOp) == 0 {
					t.Fatalf("requests %v: want %s", ft.Requests(), p.wantOp)
				}
				copy := b.head(t, b.trash, "copy.pdf")
				// AWS leaves x-amz-storage-class out for STANDARD.
				if got := cmp.Or(copy.StorageClass, "STANDARD"); got != string(tc.to) {
					t.Errorf("copy's class %q, want %s", copy.StorageClass, tc.to)
				}
				assertProvableCopy(t, src, copy)
				out, err := b.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.trash, Key: aws.String("copy.pdf")})
				if err != nil {
					t.Fatal(err)
				}
				if got := cmp.Or(string(out.StorageClass), "STANDARD"); got != string(tc.to) {
					t.Errorf("raw HEAD x-amz-storage-class %q, want %s", out.StorageClass, tc.to)
				}
				if !bytes.Equal(s3test.Get(t, b.s3, b.trash, "copy.pdf"), body) {
					t.Error("the copy's bytes differ from the source's")
				}
			})
		}
	}
}

// holdFirstPart holds a multipart copy's first UploadPartCopy until the test
// has done what it wants done while the copy runs. The returned transport
// passes everything else through and records the requests.
func holdFirstPart(t *testing.T) (ft *s3test.FaultTransport, held <-chan struct{}, release func()) {
	t.Helper()
	h, r := make(chan struct{}), make(chan struct{})
	first := s3test.Once(s3test.Match("UploadPartCopy", ""))
	ft = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
		if first(req) {
			close(h)
			return s3test.Fault{Release: r}
		}
		return s3test.Fault{}
	})
	var once sync.Once
	release = func() { once.Do(func() { close(r) }) }
	t.Cleanup(release)
	return ft, h, release
}

// TestCopyNoOverwriteAtComplete pins that the server checks a multipart
// copy's If-None-Match when CompleteMultipartUpload makes the parts the
// object, not when the upload was created: a file the LMS puts at the key
// while the parts are being copied is not overwritten.
func TestCopyNoOverwriteAtComplete(t *testing.T) {
	t.Parallel()
	ft, held, release := holdFirstPart(t)
	b := setup(t, lowThreshold, counting(ft))
	s3test.PutMultipart(t, b.s3, b.src, "big.mp4", s3test.RandomBytes(12*mib), 5*mib)
	src := b.head(t, b.src, "big.mp4")

	errc := make(chan error, 1)
	go func() {
		errc <- b.client.Copy(t.Context(), src, b.trash, "big.mp4", reconcile.CopyOptions{NoOverwrite: true})
	}()
	<-held
	theirs := []byte("the LMS put this here while the parts were copied")
	s3test.PutObject(t, b.s3, b.trash, "big.mp4", theirs)
	release()

	err := <-errc
	if !errors.Is(err, s3ops.ErrDestinationExists) || !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("Copy = %v, want ErrDestinationExists (an ErrPreconditionFailed)", err)
	}
	if n := countOps(ft, "CompleteMultipartUpload"); n != 1 {
		t.Errorf("%d CompleteMultipartUpload requests, want the one the server refused: %v", n, ft.Requests())
	}
	if got := s3test.Get(t, b.s3, b.trash, "big.mp4"); !bytes.Equal(got, theirs) {
		t.Errorf("the file put during the copy was overwritten (%d bytes now)", len(got))
	}
	if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
		t.Errorf("unfinished uploads left: %v", up)
	}
}

// TestCopyNoOverwriteByHead: with NoOverwriteByHead a copy onto a taken key
// is refused by a HEAD before any copy request goes out, and a multipart
// copy whose key was taken while its parts were copied is refused by a HEAD
// before CompleteMultipartUpload, which is then never sent. Both guard a
// server that would ignore If-None-Match.
func TestCopyNoOverwriteByHead(t *testing.T) {
	t.Parallel()
	byHead := func(o *s3ops.Options) { o.NoOverwriteByHead = true }
	noOverwrite := reconcile.CopyOptions{NoOverwrite: true}
	for _, p := range copyPaths {
		t.Run(p.name+"/taken before", func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(nil)
			b := setup(t, p.opts, byHead, counting(ft))
			src := p.source(t, b, "doc", p.body(), "")
			s3test.PutObject(t, b.s3, b.trash, "taken", []byte("theirs"))

			err := b.client.Copy(t.Context(), src, b.trash, "taken", noOverwrite)
			if !errors.Is(err, s3ops.ErrDestinationExists) || !errors.Is(err, reconcile.ErrPreconditionFailed) {
				t.Fatalf("Copy = %v, want ErrDestinationExists", err)
			}
			for _, op := range []string{"CopyObject", "CreateMultipartUpload", "UploadPartCopy"} {
				if n := countOps(ft, op); n != 0 {
					t.Errorf("%d %s requests after the HEAD found the key taken: %v", n, op, ft.Requests())
				}
			}
			if got := string(s3test.Get(t, b.s3, b.trash, "taken")); got != "theirs" {
				t.Errorf("taken key holds %q", got)
			}
			// A free key is copied as usual.
			if err := b.client.Copy(t.Context(), src, b.trash, "free", noOverwrite); err != nil {
				t.Fatalf("Copy to a free key: %v", err)
			}
		})
	}
	t.Run("multipart/taken during", func(t *testing.T) {
		t.Parallel()
		ft, held, release := holdFirstPart(t)
		b := setup(t, lowThreshold, byHead, counting(ft))
		s3test.PutMultipart(t, b.s3, b.src, "big.mp4", s3test.RandomBytes(12*mib), 5*mib)
		src := b.head(t, b.src, "big.mp4")

		errc := make(chan error, 1)
		go func() { errc <- b.client.Copy(t.Context(), src, b.trash, "big.mp4", noOverwrite) }()
		<-held
		s3test.PutObject(t, b.s3, b.trash, "big.mp4", []byte("theirs"))
		release()

		if err := <-errc; !errors.Is(err, s3ops.ErrDestinationExists) {
			t.Fatalf("Copy = %v, want ErrDestinationExists", err)
		}
		if n := countOps(ft, "CompleteMultipartUpload"); n != 0 {
			t.Errorf("%d CompleteMultipartUpload requests, want none after the HEAD found the key taken", n)
		}
		if got := string(s3test.Get(t, b.s3, b.trash, "big.mp4")); got != "theirs" {
			t.Errorf("taken key holds %q", got)
		}
		if up := s3test.Uploads(t, b.s3, b.trash); len(up) != 0 {
			t.Errorf("unfinished uploads left: %v", up)
		}
	})
}
