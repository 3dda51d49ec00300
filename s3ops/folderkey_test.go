package s3ops_test

import (
	"errors"
	"strings"
	"testing"

	"trashd/reconcile"
)

// On the real S3-compatible server: a key ending in "/" answers HEAD but
// not a copy; the error says so, permanently, instead of "not found" (which
// the runner would take for the source changing under it).
func TestCopyOfAFolderKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "course/7/", []byte("not a folder"))
	err := b.client.Copy(t.Context(), src, b.trash, "7/course/7/", reconcile.CopyOptions{NoOverwrite: true})
	if err == nil {
		t.Skip("this server copies keys ending in /, as AWS does")
	}
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), `ends in "/"`) {
		t.Errorf("copy of a key ending in /: %v; want a permanent error that names the trailing /", err)
	}
}
