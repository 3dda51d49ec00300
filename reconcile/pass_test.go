package reconcile_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// awkwardKeys are keys that break naive URL encoding or path handling.
var awkwardKeys = []string{
	"plain.txt",
	"with space/and more spaces.pdf",
	"plus+sign+and%percent%20.txt",
	"question?mark&amp=1.doc",
	"hash#fragment#.png",
	"ünïcödé/日本語/ファイル.txt",
	"emoji/😀 face.txt",
	"deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/file",
	"semi;colon,comma=equals@at!bang'quote(paren)*star~tilde",
	strings.Repeat("segment-0123456789/", 53) + "end-of-1024-bytes", // 1,024 bytes from short segments
}

func TestPassMovesTrashedFiles(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	if n := len(awkwardKeys[len(awkwardKeys)-1]); n != 1024 {
		t.Fatalf("the long key is %d bytes, want 1024", n)
	}
	var trashed []int64
	for i, key := range awkwardKeys {
		trashed = append(trashed, env.AddFile(t, key, testworld.Body(key, 100+i*37), true, 0))
	}
	trashed = append(trashed, env.AddFile(t, "empty/zero-byte", nil, true, 0))
	for i := range 20 {
		key := fmt.Sprintf("bulk/%03d.bin", i)
		env.AddFile(t, key, testworld.Body(key, 1000+i), i%3 == 0, 0)
		if i%3 == 0 {
			trashed = append(trashed, 0)
		}
	}

	// One event per object; and, for each moved by its copy's answer alone
	// (no size in it), one when the transition check has read its size.
	var events, sized atomic.Int64
	r := env.Runner(t, env.Config("owner-a"), reconcile.WithEvents(func(ev reconcile.Event) {
		if ev.Outcome == reconcile.OutcomeSized {
			sized.Add(1)
			return
		}
		events.Add(1)
	}))
	sum, err := r.Run(passCtx(t), reconcile.TriggerManual)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := len(trashed)
	if sum.Status != reconcile.RunOK || sum.Counts.Discovered != want || sum.Counts.Moved != want || sum.Counts.Failed != 0 {
		t.Errorf("summary %+v, want ok with %d discovered and moved", sum, want)
	}
	if got := events.Load(); got != int64(want) {
		t.Errorf("%d events, want one per object (%d)", got, want)
	}
	if got := sized.Load(); got != int64(want) {
		t.Errorf("%d sizes learned, want one per object (%d)", got, want)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != want || len(got) != 1 {
		t.Errorf("states %v, want %d in_trash", got, want)
	}
	env.CheckInvariant(t)

	// A second pass finds nothing to do and changes nothing.
	sum, err = r.Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Discovered != 0 || sum.Counts.Moved != 0 {
		t.Errorf("second pass: %+v, %v; want nothing done", sum.Counts, err)
	}
	env.CheckInvariant(t)
}

func TestPassMultipartCopy(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, func(o *s3ops.Options) {
		o.MultipartThreshold = 5 << 20
		o.PartSize = 5 << 20
	})
	body := testworld.Body("large", 12<<20+123)
	key := "videos/lecture 01 ü+%.mp4"
	env.AddFile(t, key, body, true, 5<<20, func(in *s3.CreateMultipartUploadInput) {
		in.ContentType = aws.String("video/mp4")
		in.ContentDisposition = aws.String(`attachment; filename="lecture.mp4"`)
		in.Metadata = map[string]string{"course": "bio-101", "uploaded-by": "42"}
		in.Tagging = aws.String(s3test.Tagging(map[string]string{"retention": "7y", "kind": "lecture"}))
	})
	src, err := env.S3.Head(t.Context(), env.Source, key)
	testworld.Must(t, err)
	env.AddFile(t, "notes.txt", []byte("small"), true, 0)

	sum, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Moved != 2 {
		t.Fatalf("Run: %+v, %v; want 2 moved", sum.Counts, err)
	}
	env.CheckInvariant(t)

	var trashKey string
	testworld.Must(t, env.DB.QueryRow("SELECT trash_key FROM trash_objects WHERE source_key = ?", key).Scan(&trashKey))
	got, err := env.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
	testworld.Must(t, err)
	if etag := strings.Trim(aws.ToString(got.ETag), `"`); etag != src.ETag || !strings.HasSuffix(etag, "-3") {
		t.Errorf("copy ETag %s, want the source's three-part ETag %s", etag, src.ETag)
	}
	if aws.ToString(got.ContentType) != "video/mp4" || aws.ToString(got.ContentDisposition) != `attachment; filename="lecture.mp4"` {
		t.Errorf("content type %q, disposition %q not carried", aws.ToString(got.ContentType), aws.ToString(got.ContentDisposition))
	}
	if got.Metadata["course"] != "bio-101" || got.Metadata["uploaded-by"] != "42" {
		t.Errorf("metadata %v not carried", got.Metadata)
	}
	if tags := s3test.Tags(t, env.SDK, env.Trash, trashKey); tags["retention"] != "7y" || tags["kind"] != "lecture" || len(tags) != 2 {
		t.Errorf("tags %v not carried", tags)
	}
}

// Keys the server refuses are recorded failed with a message naming the
// key, and the rest of the pass goes on.
func TestPassRefusedKey(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddRow(t, "course/../escape.pdf", true)
	env.AddFile(t, "fine.pdf", []byte("fine"), true, 0)

	sum, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Failed != 1 || sum.Counts.Moved != 1 {
		t.Fatalf("Run: %+v, %v; want 1 failed and 1 moved", sum.Counts, err)
	}
	var lastErr string
	testworld.Must(t, env.DB.QueryRow("SELECT last_error FROM trash_objects WHERE state = 'failed'").Scan(&lastErr))
	if !strings.Contains(lastErr, "course/../escape.pdf") || !strings.Contains(lastErr, "..") {
		t.Errorf("failure %q does not name the key and its problem", lastErr)
	}
	env.CheckInvariant(t)
}

func TestPassMissingSource(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddRow(t, "never/uploaded.pdf", true)
	env.AddFile(t, "present.pdf", []byte("here"), true, 0)

	sum, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Counts.Missing != 1 || sum.Counts.Moved != 1 {
		t.Errorf("counts %+v, want 1 missing and 1 moved", sum.Counts)
	}
	var lastErr string
	testworld.Must(t, env.DB.QueryRow("SELECT last_error FROM trash_objects WHERE state = 'missing'").Scan(&lastErr))
	if !strings.Contains(lastErr, "never/uploaded.pdf") {
		t.Errorf("missing reason %q does not name the key", lastErr)
	}
	// Missing is settled: the next pass does not try again.
	sum, err = env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Missing != 0 {
		t.Errorf("second pass %+v, %v; want nothing retried", sum.Counts, err)
	}
	env.CheckInvariant(t)
}

// The source is overwritten after trashd read it and before its copy: the
// conditional copy fails, the move starts again from HEAD, and the trash
// bucket ends with the new bytes.
func TestPassSourceReplacedDuringMove(t *testing.T) {
	t.Parallel()
	var env *testworld.Env
	var id int64
	var once sync.Once
	replaced := make(chan struct{})
	env = testworld.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			if req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" {
				once.Do(func() {
					env.Replace(t, id, []byte("the user uploaded a new version"))
					close(replaced)
				})
			}
			return s3test.Fault{}
		}).Client()
	})
	id = env.AddFile(t, "report.docx", []byte("first version"), true, 0)

	sum, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Moved != 1 {
		t.Fatalf("Run: %+v, %v; want 1 moved", sum.Counts, err)
	}
	select {
	case <-replaced:
	default:
		t.Fatal("the source was never replaced: the fault did not fire")
	}
	env.CheckInvariant(t) // expects the new bytes in the trash bucket
}

func TestPassRefusesMissingTrashBucket(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "a.txt", []byte("a"), true, 0)
	cfg := env.Config("owner-a")
	cfg.TrashBucket = "no-such-trash-bucket-for-trashd"

	sum, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if err == nil || !strings.Contains(err.Error(), cfg.TrashBucket) {
		t.Fatalf("Run = %v, want an error naming the bucket", err)
	}
	if sum.Status != reconcile.RunError {
		t.Errorf("status %s, want %s", sum.Status, reconcile.RunError)
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("records %v, want none: the pass must stop before touching anything", got)
	}
	env.CheckInvariant(t)
}

func TestPassRefusesWrongCredentials(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, func(o *s3ops.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("trashd-dev", "not-the-secret", "")
	})
	env.AddFile(t, "a.txt", []byte("a"), true, 0)

	_, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrPermanent) {
		t.Fatalf("Run = %v, want a permanent error", err)
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("records %v, want none", got)
	}
	env.CheckInvariant(t)
}

// copyFails answers every CopyObject with 503, as an overloaded S3 would.
func copyFails(o *s3ops.Options) {
	o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
		if req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" {
			return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
		}
		return s3test.Fault{}
	}).Client()
}

// A transient error leaves the object for a later pass, not before its
// backoff: a pass that follows at once does not touch it.
func TestPassTransientErrorBacksOff(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, copyFails)
	env.AddFile(t, "flaky.bin", []byte("payload"), true, 0)
	cfg := env.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := env.Runner(t, cfg)

	sum, err := r.Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts.Retrying != 1 || sum.Status != reconcile.RunOK {
		t.Fatalf("first pass: %+v, %v; want 1 retrying", sum, err)
	}
	var attempts int
	var due bool
	testworld.Must(t, env.DB.QueryRow(
		"SELECT attempts, next_attempt_at > NOW(6) + INTERVAL 29 MINUTE FROM trash_objects").Scan(&attempts, &due))
	if attempts != 1 || !due {
		t.Errorf("attempts %d, next attempt at least 30 minutes away: %v; want 1 and true", attempts, due)
	}
	sum, err = r.Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || sum.Counts != (reconcile.Counts{}) {
		t.Errorf("second pass: %+v, %v; want nothing done", sum.Counts, err)
	}
	env.CheckInvariant(t)
}

// With no backoff to wait for, a pass retries until the attempts run out and
// records the object failed, counted once; the source is never touched.
func TestPassTransientErrorsExhaustAttempts(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, copyFails)
	env.AddFile(t, "flaky.bin", []byte("payload"), true, 0)
	cfg := env.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Nanosecond, time.Nanosecond

	sum, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Counts.Failed != 1 || sum.Counts.Retrying != 0 || sum.Status != reconcile.RunFailed {
		t.Errorf("summary %+v, want the object failed and counted once", sum)
	}
	var lastErr string
	var attempts int
	testworld.Must(t, env.DB.QueryRow("SELECT attempts, last_error FROM trash_objects").Scan(&attempts, &lastErr))
	if attempts != cfg.MaxAttempts || !strings.Contains(lastErr, "gave up after 3 attempts") || !strings.Contains(lastErr, "ServiceUnavailable") {
		t.Errorf("attempts %d, last error %q; want %d and a message that says the attempts ran out and why", attempts, lastErr, cfg.MaxAttempts)
	}
	env.CheckInvariant(t)
}

// Two runners racing over one backlog move every object exactly once.
func TestPassTwoRunnersRace(t *testing.T) {
	t.Parallel()
	var deletes sync.Map // key → *atomic.Int32
	var env0 struct{ Source string }
	env := testworld.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			bucket, key := s3test.BucketKey(req)
			if bucket != env0.Source || s3test.IsProbe(req) {
				return s3test.Fault{}
			}
			keys := []string{key}
			switch s3test.Operation(req) {
			case "DeleteObject":
			case "DeleteObjects":
				keys = nil
				for _, o := range s3test.DeleteObjectsOf(req) {
					keys = append(keys, o.Key)
				}
			default:
				keys = nil
			}
			for _, k := range keys {
				n, _ := deletes.LoadOrStore(k, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
			}
			return s3test.Fault{}
		}).Client()
	})
	env0.Source = env.Source
	const n = 60
	for i := range n {
		key := fmt.Sprintf("race/%02d", i)
		env.AddFile(t, key, testworld.Body(key, 64), true, 0)
	}
	var wg sync.WaitGroup
	sums := make([]reconcile.Summary, 2)
	for i := range 2 {
		wg.Go(func() {
			var err error
			sums[i], err = env.Runner(t, env.Config(fmt.Sprintf("owner-%d", i))).Run(passCtx(t), reconcile.TriggerManual)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if moved := sums[0].Counts.Moved + sums[1].Counts.Moved; moved != n {
		t.Errorf("moved %d + %d, want %d in all", sums[0].Counts.Moved, sums[1].Counts.Moved, n)
	}
	count := 0
	deletes.Range(func(k, v any) bool {
		count++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("%s deleted %d times", k, c)
		}
		return true
	})
	if count != n {
		t.Errorf("%d sources deleted, want %d", count, n)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != n {
		t.Errorf("states %v, want %d in_trash", got, n)
	}
	env.CheckInvariant(t)
}
