package reconcile_test

import (
	"strings"
	"testing"

	"trashd/reconcile"
)

func TestParseKeyTemplate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tmpl    string
		wantErr string
	}{
		{"{id}/{key}", ""},
		{"trash/{bucket}/{id}/{key}", ""},
		{"{id}", ""},
		{"{key}", "must contain {id}"},
		{"{id}/{name}", "unknown placeholder {name}"},
		{"/{id}/{key}", "must not start with /"},
		{"trash//{id}/{key}", "empty path segment"},
		{"{id}/{key}/", "empty path segment"},
		{"trash/./{id}/{key}", `a "." path segment`},
		{"{id}/../{key}", `a ".." path segment`},
		{"..{id}/{key}", ""}, // a name that starts with dots is a name
		{strings.Repeat("t", 900) + "/{id}/{key}", ""},
		{strings.Repeat("t", 950) + "/{id}/{key}", "even with {key} hashed"},
		{"{id}/" + strings.Repeat("{key}", 15), "even with {key} hashed"},
	} {
		_, err := reconcile.ParseKeyTemplate(tc.tmpl)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseKeyTemplate(%q) = %v, want no error", tc.tmpl, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseKeyTemplate(%q) = %v, want an error containing %q", tc.tmpl, err, tc.wantErr)
		}
	}
}

func TestKeyTemplateRender(t *testing.T) {
	t.Parallel()
	tmpl, err := reconcile.ParseKeyTemplate("trash/{bucket}/{id}/{key}")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tmpl.Render(42, "lms", "a b/ü+%.pdf"), "trash/lms/42/a b/ü+%.pdf"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}

	// A 1,024-byte source key cannot keep its name under a prefix: the key
	// part becomes its SHA-256, deterministic and within S3's limit.
	long := strings.Repeat("abcdefghi/", 102) + "xyzw"
	if len(long) != reconcile.MaxKeyLen {
		t.Fatalf("test key is %d bytes", len(long))
	}
	got := tmpl.Render(42, "lms", long)
	if len(got) > reconcile.MaxKeyLen || !strings.HasPrefix(got, "trash/lms/42/sha256-") {
		t.Errorf("Render of a long key = %q (%d bytes), want trash/lms/42/sha256-… within %d bytes", got, len(got), reconcile.MaxKeyLen)
	}
	if again := tmpl.Render(42, "lms", long); again != got {
		t.Errorf("Render is not deterministic: %q then %q", got, again)
	}
	if other := tmpl.Render(43, "lms", long); other == got {
		t.Errorf("two rows with the same long key share trash key %q", got)
	}
}

// The LMS column holds up to 1,024 characters (VARCHAR(1024), as in
// dbtest's files table), which in utf8mb4 is up to 4,096 bytes: every such
// key gets a trash key within S3's limit, under the longest template text
// ParseKeyTemplate accepts.
func TestKeyTemplateRenderLongestLMSKey(t *testing.T) {
	t.Parallel()
	longest := strings.Repeat("😀", 1024) // 4 bytes each
	for _, raw := range []string{reconcile.DefaultKeyTemplate, "trash/{bucket}/{id}/{key}", strings.Repeat("t", 860) + "/{bucket}/{id}/{key}"} {
		tmpl, err := reconcile.ParseKeyTemplate(raw)
		if err != nil {
			t.Fatalf("ParseKeyTemplate(%.40q…) = %v", raw, err)
		}
		got := tmpl.Render(-9223372036854775808, strings.Repeat("b", 63), longest)
		if len(got) > reconcile.MaxKeyLen || !strings.Contains(got, "/sha256-") {
			t.Errorf("Render(%.40q…) of a %d-byte key = %d bytes, want the hashed form within %d", raw, len(longest), len(got), reconcile.MaxKeyLen)
		}
	}
}
