package s3test_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"trashd/s3ops/s3test"
)

// TestOperation: the names a counting proxy reports, from the request
// shapes a path-style client sends.
func TestOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, target string
		copySource     string
		want           string
	}{
		{"HEAD", "/b", "", "HeadBucket"},
		{"GET", "/b?list-type=2", "", "ListObjects"},
		{"GET", "/b?lifecycle", "", "GetBucketLifecycleConfiguration"},
		{"PUT", "/b?lifecycle", "", "PutBucketLifecycleConfiguration"},
		{"POST", "/b?delete", "", "DeleteObjects"},
		{"HEAD", "/b/k", "", "HeadObject"},
		{"PUT", "/b/k", "b/src", "CopyObject"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "b/src", "UploadPartCopy"},
		{"DELETE", "/b/k", "", "DeleteObject"},
		{"POST", "/b/k?restore", "", "RestoreObject"},
		{"POST", "/b/k?select", "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, http.NoBody)
		if tt.copySource != "" {
			r.Header.Set("X-Amz-Copy-Source", tt.copySource)
		}
		if got := s3test.Operation(r); got != tt.want {
			t.Errorf("%s %s: Operation = %q, want %q", tt.method, tt.target, got, tt.want)
		}
	}
}
