package s3ops_test

import (
	"strings"
	"testing"

	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*s3ops.Options)
		want string // in the error; "" for none
	}{
		{"defaults", func(*s3ops.Options) {}, ""},
		{"part size below 5 MiB", func(o *s3ops.Options) { o.PartSize = 1 << 20 }, "PartSize"},
		{"part size above 5 GiB", func(o *s3ops.Options) { o.PartSize = 6 << 30 }, "PartSize"},
		{"threshold above the CopyObject limit", func(o *s3ops.Options) { o.MultipartThreshold = 6 << 30 }, "MultipartThreshold"},
		{"negative threshold", func(o *s3ops.Options) { o.MultipartThreshold = -1 }, "MultipartThreshold"},
		{"negative concurrency", func(o *s3ops.Options) { o.PartConcurrency = -1 }, "PartConcurrency"},
		{"endpoint without scheme", func(o *s3ops.Options) { o.Endpoint = "127.0.0.1:8333" }, "Endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := s3test.Options(t)
			tt.set(&o)
			_, err := s3ops.New(t.Context(), o)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New: %v, want an error about %s", err, tt.want)
			}
		})
	}
}
