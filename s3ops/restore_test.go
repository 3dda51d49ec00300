package s3ops_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

func TestParseRestore(t *testing.T) {
	expiry := time.Date(2012, 12, 21, 0, 0, 0, 0, time.UTC)
	done := reconcile.Restore{Requested: true, Expiry: expiry}
	ongoing := reconcile.Restore{Requested: true, Ongoing: true}
	tests := []struct {
		header  string
		want    reconcile.Restore
		wantErr bool
	}{
		{``, reconcile.Restore{}, false},
		{`   `, reconcile.Restore{}, false},
		{`ongoing-request="true"`, ongoing, false},
		{`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`, done, false},
		{`ongoing-request="false",expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`, done, false},
		{`  ongoing-request = "false" ,  expiry-date = "Fri, 21 Dec 2012 00:00:00 GMT"  `, done, false},
		{`expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", ongoing-request="false"`, done, false},
		{`Ongoing-Request="FALSE", Expiry-Date="Fri, 21 Dec 2012 00:00:00 GMT"`, done, false},
		{`ongoing-request=false, expiry-date=Fri, 21 Dec 2012 00:00:00 GMT`, done, false},
		{`ongoing-request=true`, ongoing, false},
		{`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT",`, done, false},
		{`ongoing-request="false", expiry-date="2012-12-21T00:00:00Z"`, done, false},
		{`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", restore-tier="Standard"`, done, false},
		// Intelligent-Tiering's archive tiers: restored, no expiry.
		{`ongoing-request="false"`, reconcile.Restore{Requested: true}, false},
		// Unreadable: a restore was asked for; taken as still going on.
		{`ongoing-request="maybe"`, ongoing, true},
		{`expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`, ongoing, true},
		{`ongoing-request="false", expiry-date="soon"`, reconcile.Restore{Requested: true}, true},
		{`ongoing-request="true`, ongoing, true},
		{`garbage`, ongoing, true},
	}
	for _, tt := range tests {
		got, err := s3ops.ParseRestore(tt.header)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseRestore(%q) = %+v, %v; want %+v, error %v", tt.header, got, err, tt.want, tt.wantErr)
		}
	}
}

// restoreRequest matches RestoreObject requests (POST ?restore).
func restoreRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("restore")
}

func TestRestoreRefusesBadArguments(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(nil)
	b := setup(t, func(o *s3ops.Options) { o.HTTPClient = ft.Client() })
	glacier := reconcile.Object{Bucket: b.trash, Key: "k", StorageClass: "GLACIER"}
	deep := reconcile.Object{Bucket: b.trash, Key: "k", StorageClass: "DEEP_ARCHIVE"}
	tests := []struct {
		name string
		obj  reconcile.Object
		days int
		tier string
		says string
	}{
		{"unknown tier", glacier, 1, "Fast", `restore tier "Fast" is not one of Expedited, Standard, Bulk`},
		{"no days", glacier, 0, "Standard", "at least 1 day, not 0"},
		{"Expedited from DEEP_ARCHIVE", deep, 1, "expedited", "DEEP_ARCHIVE objects cannot be restored with the Expedited tier"},
	}
	for _, tt := range tests {
		err := b.client.Restore(t.Context(), tt.obj, tt.days, tt.tier)
		if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: Restore = %v, want ErrPermanent saying %q", tt.name, err, tt.says)
		}
	}
	for _, r := range ft.Requests() {
		if strings.HasPrefix(r, "POST") {
			t.Errorf("request sent for refused arguments: %s", r)
		}
	}
}

func TestRestoreErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    s3test.Fault
		sentinel error // nil: no error at all
		says     string
	}{
		{"already in progress is what we want", s3test.Fault{Status: 409, Code: "RestoreAlreadyInProgress", Message: "Object restore is already in progress"}, nil, ""},
		{"no Expedited capacity", s3test.Fault{Status: 503, Code: "GlacierExpeditedRetrievalNotAvailable", Message: "Glacier expedited retrievals are currently not available, please try again later"},
			reconcile.ErrTransient, "restore with the Standard tier"},
		{"not archived", s3test.Fault{Status: 403, Code: "InvalidObjectState", Message: "Restore is not allowed for the object's current storage class"},
			s3ops.ErrNotArchived, "can be read or copied as it is"},
		{"denied", s3test.Fault{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
			reconcile.ErrPermanent, "the IAM policy must allow s3:RestoreObject on arn:aws:s3:::"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(s3test.When(restoreRequest, tt.fault))
			b := setup(t, func(o *s3ops.Options) { o.HTTPClient = ft.Client(); o.RetryMaxAttempts = 1 })
			obj := reconcile.Object{Bucket: b.trash, Key: "trash/k", StorageClass: "GLACIER"}
			err := b.client.Restore(t.Context(), obj, 3, "Standard")
			if tt.sentinel == nil {
				if err != nil {
					t.Fatalf("Restore = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "restore s3://"+b.trash+"/trash/k") {
				t.Errorf("Restore = %v, want %v naming the object and saying %q", err, tt.sentinel, tt.says)
			}
			if tt.sentinel == s3ops.ErrNotArchived && (!errors.Is(err, reconcile.ErrPermanent) || errors.Is(err, reconcile.ErrArchived)) {
				t.Errorf("Restore = %v, want ErrPermanent and not ErrArchived", err)
			}
		})
	}
}

// TestRestoreOnSeaweedFS: the S3-compatible server has no archive classes
// and refuses POST ?restore with 405.
func TestRestoreOnSeaweedFS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	obj := b.put(t, "k", []byte("x"))
	err := b.client.Restore(t.Context(), obj, 1, "Bulk")
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "the server does not support restoring archived objects") {
		t.Errorf("Restore on SeaweedFS = %v, want ErrPermanent saying it is not supported", err)
	}
}

// archive puts body at key in g's bucket and copies it onto itself in
// class, the way direct mode archives an object, returning its HEAD.
func (g *glacierBundle) archive(t *testing.T, key string, body []byte, class types.StorageClass) reconcile.Object {
	t.Helper()
	s3test.PutObject(t, g.s3, g.bucket, key, body)
	if _, err := g.s3.CopyObject(t.Context(), &s3.CopyObjectInput{
		Bucket:            aws.String(g.bucket),
		Key:               aws.String(key),
		CopySource:        aws.String(g.bucket + "/" + key),
		StorageClass:      class,
		MetadataDirective: types.MetadataDirectiveCopy,
	}); err != nil {
		t.Fatalf("copy %s into %s: %v", key, class, err)
	}
	return g.head(t, key)
}

func (g *glacierBundle) head(t *testing.T, key string) reconcile.Object {
	t.Helper()
	obj, err := g.client.Head(t.Context(), g.bucket, key)
	if err != nil {
		t.Fatalf("Head(%s): %v", key, err)
	}
	return obj
}

func TestRestoreArchivedObject(t *testing.T) {
	t.Parallel()
	// A minute's restore, on S3's clock with hour-long days: done when
	// the test moves the clock on, however slow the machine is meanwhile.
	const delay = time.Minute
	g := setupGlacier(t, glacier.Config{DayLength: time.Hour, Restore: map[string]time.Duration{glacier.TierExpedited: delay}})
	ctx := t.Context()
	body := s3test.RandomBytes(1000)

	obj := g.archive(t, "trash/a.pdf", body, types.StorageClassGlacier)
	if obj.StorageClass != "GLACIER" || !obj.Archived() || obj.Readable() || obj.Restore != (reconcile.Restore{}) {
		t.Fatalf("archived object: %+v; want GLACIER, not readable, no restore", obj)
	}
	err := g.client.Copy(ctx, obj, g.bucket, "back/a.pdf", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrArchived) || !strings.Contains(err.Error(), "must be restored first") {
		t.Fatalf("Copy of an archived object: %v, want ErrArchived saying it must be restored first", err)
	}

	asked := g.srv.Now()
	if err := g.client.Restore(ctx, obj, 2, "Expedited"); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	restoring := g.head(t, obj.Key)
	if !restoring.Restore.Requested || !restoring.Restore.Ongoing || restoring.Readable() {
		t.Errorf("HEAD while restoring: %+v, want a restore requested and ongoing", restoring.Restore)
	}
	// A second request while the first is under way is a 409, and fine.
	if err := g.client.Restore(ctx, obj, 2, "Expedited"); err != nil {
		t.Errorf("Restore while one is in progress: %v, want nil", err)
	}

	if err := g.srv.Advance(ctx, delay); err != nil {
		t.Fatal(err)
	}
	restored := g.head(t, obj.Key)
	if !restored.Readable() {
		t.Fatalf("not readable %v after the restore: %+v", delay, restored)
	}
	if restored.StorageClass != "GLACIER" || restored.Restore.Ongoing || !restored.Restore.Expiry.After(asked) {
		t.Errorf("restored: %+v; want still GLACIER, restore done, expiry ahead", restored)
	}
	if err := g.client.Copy(ctx, restored, g.bucket, "back/a.pdf", reconcile.CopyOptions{}); err != nil {
		t.Fatalf("Copy of the restored object: %v", err)
	}
	if got := s3test.Get(t, g.s3, g.bucket, obj.Key); !bytes.Equal(got, body) {
		t.Error("the restored object does not hold the archived bytes")
	}
	// Restoring a restored object again extends its copy (200): nil.
	if err := g.client.Restore(ctx, restored, 5, "Bulk"); err != nil {
		t.Errorf("Restore of a restored object: %v, want nil", err)
	}
}

func TestRestoreObjectNotArchived(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	for _, class := range []types.StorageClass{types.StorageClassStandard, types.StorageClassGlacierIr} {
		key := "trash/" + string(class)
		s3test.PutObject(t, g.s3, g.bucket, key, []byte("readable"), func(in *s3.PutObjectInput) { in.StorageClass = class })
		obj := g.head(t, key)
		if obj.Archived() || !obj.Readable() {
			t.Fatalf("%s object: %+v; want readable without a restore", class, obj)
		}
		err := g.client.Restore(t.Context(), obj, 1, "Standard")
		if !errors.Is(err, s3ops.ErrNotArchived) || !errors.Is(err, reconcile.ErrPermanent) || errors.Is(err, reconcile.ErrArchived) {
			t.Errorf("Restore of a %s object: %v; want ErrNotArchived and ErrPermanent", class, err)
		}
	}
}

// TestRestoreVersion: on a versioned bucket the restore names the version
// that was archived.
func TestRestoreVersion(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	s3test.EnableVersioning(t, g.s3, g.bucket)
	obj := g.archive(t, "trash/v.pdf", []byte("versioned"), types.StorageClassGlacier)
	if obj.VersionID == "" {
		t.Fatalf("HEAD on a versioned bucket: %+v, want a version", obj)
	}

	var sent atomic.Value
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if restoreRequest(r) {
			sent.Store(r.URL.Query().Get("versionId"))
		}
		return s3test.Fault{}
	})
	o := s3test.Options(t)
	o.Endpoint, o.HTTPClient = g.srv.URL, ft.Client()
	client := s3test.NewClient(t, o)
	if err := client.Restore(t.Context(), obj, 1, "Standard"); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := sent.Load(); got != obj.VersionID {
		t.Errorf("RestoreObject sent versionId %q, want %q", got, obj.VersionID)
	}
	if got := g.head(t, obj.Key); !got.Restore.Requested || !got.Restore.Ongoing {
		t.Errorf("HEAD after the restore request: %+v, want it ongoing", got.Restore)
	}
}

// TestHeadUnparsedRestore: an x-amz-restore that does not parse is kept
// as Unparsed and makes an archived object unreadable, even where what did
// parse says the restore is done; one that parses leaves Unparsed empty.
// The header is set on the real server's HEAD response on its way back.
func TestHeadUnparsedRestore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header   string
		unparsed bool
		readable bool
	}{
		{`ongoing-request="false", expiry-date="Fri, 21 Dec 2040 00:00:00 GMT"`, false, true},
		{`ongoing-request="true"`, false, false},
		{`ongoing-request="false", expiry-date="soon"`, true, false},
		{`ongoing-request="maybe"`, true, false},
		{`garbage`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(s3test.When(s3test.Match("HeadObject", "cold.pdf"), s3test.Fault{
				EditResponse: func(r *http.Response) { r.Header.Set("X-Amz-Restore", tt.header) },
			}))
			b := setup(t, counting(ft))
			s3test.PutObject(t, b.s3, b.src, "cold.pdf", []byte("archived"), func(in *s3.PutObjectInput) {
				in.StorageClass = types.StorageClassGlacier
			})
			obj := b.head(t, b.src, "cold.pdf")
			if obj.StorageClass != "GLACIER" || !obj.Restore.Requested {
				t.Fatalf("Head = %+v, want GLACIER with a restore requested", obj)
			}
			if got := obj.Restore.Unparsed; (got != "") != tt.unparsed || (tt.unparsed && got != tt.header) {
				t.Errorf("Restore.Unparsed = %q, want %q", got, map[bool]string{true: tt.header}[tt.unparsed])
			}
			if obj.Readable() != tt.readable {
				t.Errorf("Readable() = %v with restore %+v, want %v", obj.Readable(), obj.Restore, tt.readable)
			}
		})
	}
}

// TestArchiveTierErrorCodes: the two codes AWS's API model names for
// archive tiers come back as what they mean, not as access denied:
// ObjectNotInActiveTierError from a copy of an archived source is
// ErrArchived, ObjectAlreadyInActiveTierError from a restore of an object
// that reads at once is ErrNotArchived.
func TestArchiveTierErrorCodes(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{ArchivedCopyError: glacier.CodeObjectNotInActiveTier})
	obj := g.archive(t, "trash/cold", []byte("cold"), types.StorageClassGlacier)
	err := g.client.Copy(t.Context(), obj, g.bucket, "back/cold", reconcile.CopyOptions{})
	if !errors.Is(err, reconcile.ErrArchived) || strings.Contains(err.Error(), "access denied") {
		t.Errorf("Copy of an archived source answered ObjectNotInActiveTierError: %v; want ErrArchived, not access denied", err)
	}

	s3test.PutObject(t, g.s3, g.bucket, "trash/it", []byte("tiered"), func(in *s3.PutObjectInput) {
		in.StorageClass = types.StorageClassIntelligentTiering
	})
	err = g.client.Restore(t.Context(), g.head(t, "trash/it"), 1, "Standard")
	if !errors.Is(err, s3ops.ErrNotArchived) || !errors.Is(err, reconcile.ErrPermanent) || strings.Contains(err.Error(), "access denied") {
		t.Errorf("Restore answered ObjectAlreadyInActiveTierError: %v; want ErrNotArchived, not access denied", err)
	}
}
