package s3ops_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// The ways a server fails a condition, played through the fault layer over
// SeaweedFS (which honours them all) on the one request of the probe that
// carries the condition.

// probeRequest picks out the probe's request for one condition, and names
// the condition's header as a server that refuses it would.
var probeRequest = map[reconcile.Condition]struct {
	match  func(*http.Request) bool
	header string
}{
	reconcile.CondCopyIfNoneMatch: {func(r *http.Request) bool {
		return s3test.Operation(r) == "CopyObject" && r.Header.Get("If-None-Match") != ""
	}, "If-None-Match"},
	reconcile.CondCompleteIfNoneMatch: {func(r *http.Request) bool {
		return s3test.Operation(r) == "CompleteMultipartUpload" && r.Header.Get("If-None-Match") != ""
	}, "If-None-Match"},
	reconcile.CondCopySourceIfMatch: {func(r *http.Request) bool {
		return s3test.Operation(r) == "CopyObject" && r.Header.Get("X-Amz-Copy-Source-If-Match") != ""
	}, "x-amz-copy-source-if-match"},
	reconcile.CondDeleteIfMatch: {func(r *http.Request) bool {
		return s3test.Operation(r) == "DeleteObject" && r.Header.Get("If-Match") != ""
	}, "If-Match"},
	reconcile.CondBatchDeleteETag: {func(r *http.Request) bool {
		if s3test.Operation(r) != "DeleteObjects" {
			return false
		}
		for _, o := range s3test.DeleteObjectsOf(r) {
			if o.ETag != "" {
				return true
			}
		}
		return false
	}, "ETag"},
}

// doAnyway does to the server what a request of cond does on a server that
// dropped the condition: the copy over the existing object, the copy of a
// source whose ETag is not the one named, the delete of an object whose ETag
// is not. The request itself cannot be changed without breaking its
// signature, so the rule does it first, through a client of its own.
func doAnyway(t *testing.T, seed *s3.Client, cond reconcile.Condition, r *http.Request) {
	bucket, key := s3test.BucketKey(r)
	ctx := r.Context()
	var err error
	switch cond {
	case reconcile.CondCopyIfNoneMatch, reconcile.CondCompleteIfNoneMatch, reconcile.CondCopySourceIfMatch:
		_, err = seed.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("written against " + string(cond))})
	case reconcile.CondDeleteIfMatch:
		_, err = seed.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	case reconcile.CondBatchDeleteETag:
		for _, o := range s3test.DeleteObjectsOf(r) {
			if _, err = seed.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(o.Key)}); err != nil {
				break
			}
		}
	}
	if err != nil {
		t.Errorf("do %s's request as a server without the condition would: %v", cond, err)
	}
}

// success is the answer a server that did the request sends.
func success(cond reconcile.Condition, r *http.Request) func(*http.Response) {
	_, key := s3test.BucketKey(r)
	switch cond {
	case reconcile.CondCopyIfNoneMatch, reconcile.CondCopySourceIfMatch:
		return s3test.Respond(http.StatusOK, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<CopyObjectResult><LastModified>2026-03-01T12:00:00.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyObjectResult>`)
	case reconcile.CondCompleteIfNoneMatch:
		return s3test.Respond(http.StatusOK, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<CompleteMultipartUploadResult><Key>`+key+`</Key><ETag>"3858f62230ac3c915f300c664312c11f-1"</ETag></CompleteMultipartUploadResult>`)
	case reconcile.CondDeleteIfMatch:
		return s3test.Respond(http.StatusNoContent, "")
	}
	var answer s3test.DeleteResult
	for _, o := range s3test.DeleteObjectsOf(r) {
		answer.Deleted = append(answer.Deleted, s3test.DeleteEntry{Key: o.Key})
	}
	return s3test.Respond(http.StatusOK, answer.Body())
}

// refusedInWords is AWS's refusal of the request: a 412, or a per-object
// PreconditionFailed in a 200 DeleteObjects answer.
func refusedInWords(cond reconcile.Condition, r *http.Request) func(*http.Response) {
	if cond != reconcile.CondBatchDeleteETag {
		f := s3test.AWSConditionFailed(probeRequest[cond].header)
		return s3test.Respond(f.Status, f.Body)
	}
	var answer s3test.DeleteResult
	for _, o := range s3test.DeleteObjectsOf(r) {
		answer.Errors = append(answer.Errors, s3test.AWSPreconditionFailed(o.Key))
	}
	return s3test.Respond(http.StatusOK, answer.Body())
}

// probeFailure is one way a server fails a condition: the rule it plays
// on the condition's request, and the answer the probe must give.
type probeFailure struct {
	name string
	want reconcile.Answer
	// why is a word the reason must carry.
	why  string
	rule func(t *testing.T, seed *s3.Client, cond reconcile.Condition, r *http.Request) s3test.Fault
	// versioned: run on a versioned bucket too (the failures that change
	// objects, and so leave versions and delete markers to clean up).
	versioned bool
}

var probeFailures = []probeFailure{
	{name: "a success that did it", want: reconcile.NotHonoured, why: "success", versioned: true,
		rule: func(t *testing.T, seed *s3.Client, cond reconcile.Condition, r *http.Request) s3test.Fault {
			doAnyway(t, seed, cond, r)
			return s3test.Fault{EditResponse: success(cond, r)}
		}},
	{name: "a 412 that did it anyway", want: reconcile.NotHonoured, why: "in deed", versioned: true,
		rule: func(t *testing.T, seed *s3.Client, cond reconcile.Condition, r *http.Request) s3test.Fault {
			doAnyway(t, seed, cond, r)
			return s3test.Fault{EditResponse: refusedInWords(cond, r)}
		}},
	{name: "501 NotImplemented", want: reconcile.NotHonoured, why: "NotImplemented",
		rule: func(*testing.T, *s3.Client, reconcile.Condition, *http.Request) s3test.Fault {
			return s3test.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "A header you provided implies functionality that is not implemented"}
		}},
	{name: "MalformedXML", want: reconcile.NotHonoured, why: "MalformedXML",
		rule: func(*testing.T, *s3.Client, reconcile.Condition, *http.Request) s3test.Fault {
			return s3test.AWSMalformedXML
		}},
	{name: "InvalidArgument naming the header", want: reconcile.NotHonoured, why: "InvalidArgument",
		rule: func(_ *testing.T, _ *s3.Client, cond reconcile.Condition, _ *http.Request) s3test.Fault {
			return s3test.Fault{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Unsupported header " + probeRequest[cond].header + " received for this API call."}
		}},
	{name: "InvalidArgument about something else", want: reconcile.Unknown, why: "InvalidArgument",
		rule: func(*testing.T, *s3.Client, reconcile.Condition, *http.Request) s3test.Fault {
			return s3test.Fault{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Invalid storage class."}
		}},
	{name: "AccessDenied", want: reconcile.Unknown, why: "AccessDenied",
		rule: func(*testing.T, *s3.Client, reconcile.Condition, *http.Request) s3test.Fault {
			return s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
		}},
}

// TestProbeConditionsFailed: for each condition and each way a server
// fails it, the probe gives that condition the failure's answer, the
// others Honoured (a deleted object is put back for the probes after it),
// and leaves nothing behind.
func TestProbeConditionsFailed(t *testing.T) {
	t.Parallel()
	for _, f := range probeFailures {
		for _, cond := range reconcile.Conditions() {
			for _, versioned := range []bool{false, true} {
				if versioned && !f.versioned {
					continue
				}
				name := fmt.Sprintf("%s/%s", f.name, cond)
				if versioned {
					name += "/versioned"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					seed, bucket := probeBucket(t, versioned)
					c := newProber(t, func(r *http.Request) s3test.Fault {
						if probeRequest[cond].match(r) {
							return f.rule(t, seed, cond, r)
						}
						return s3test.Fault{}
					})
					caps, err := c.ProbeConditions(t.Context(), bucket)
					if err != nil {
						t.Fatalf("ProbeConditions: %v", err)
					}
					assertAnswers(t, caps, map[reconcile.Condition]reconcile.Answer{cond: f.want})
					if !strings.Contains(caps.Why[cond], f.why) {
						t.Errorf("%s: why %q, want it to say %q", cond, caps.Why[cond], f.why)
					}
					assertNothingLeft(t, seed, bucket)
				})
			}
		}
	}
}

// TestProbeConditionsSeesANewVersionOfTheSameBytes: on a versioned bucket,
// a copy written over the probe's object with the very bytes it held keeps
// its ETag but makes a new version; a 412 for it is still a refusal in
// words only.
func TestProbeConditionsSeesANewVersionOfTheSameBytes(t *testing.T) {
	t.Parallel()
	for _, cond := range []reconcile.Condition{reconcile.CondCopyIfNoneMatch, reconcile.CondCompleteIfNoneMatch} {
		t.Run(string(cond), func(t *testing.T) {
			t.Parallel()
			seed, bucket := probeBucket(t, true)
			c := newProber(t, func(r *http.Request) s3test.Fault {
				if !probeRequest[cond].match(r) {
					return s3test.Fault{}
				}
				b, key := s3test.BucketKey(r)
				same := s3test.Get(t, seed, b, key)
				s3test.PutObject(t, seed, b, key, same)
				return s3test.Fault{EditResponse: refusedInWords(cond, r)}
			})
			caps, err := c.ProbeConditions(t.Context(), bucket)
			if err != nil {
				t.Fatal(err)
			}
			assertAnswers(t, caps, map[reconcile.Condition]reconcile.Answer{cond: reconcile.NotHonoured})
			assertNothingLeft(t, seed, bucket)
		})
	}
}
