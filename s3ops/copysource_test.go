package s3ops

import "testing"

func TestCopySource(t *testing.T) {
	tests := []struct {
		name                 string
		bucket, key, version string
		want                 string
	}{
		{"plain", "src", "a/b/c.txt", "", "src/a/b/c.txt"},
		{"unreserved kept", "src", "A-z_0.9~", "", "src/A-z_0.9~"},
		{"space", "src", "my file.pdf", "", "src/my%20file.pdf"},
		{"plus", "src", "a+b", "", "src/a%2Bb"},
		{"percent", "src", "100%.txt", "", "src/100%25.txt"},
		{"question mark", "src", "what?.txt", "", "src/what%3F.txt"},
		{"hash", "src", "c#.txt", "", "src/c%23.txt"},
		{"ampersand and equals", "src", "a&b=c", "", "src/a%26b%3Dc"},
		{"unicode", "src", "Übung/日本.txt", "", "src/%C3%9Cbung/%E6%97%A5%E6%9C%AC.txt"},
		{"leading and double slash", "src", "/a//b/", "", "src//a//b/"},
		{"version", "src", "k", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "src/k?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"},
		{"null version", "src", "k", "null", "src/k?versionId=null"},
		{"control and quote", "src", "a\"b\n", "", "src/a%22b%0A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := copySource(tt.bucket, tt.key, tt.version); got != tt.want {
				t.Errorf("copySource(%q, %q, %q) = %q, want %q", tt.bucket, tt.key, tt.version, got, tt.want)
			}
		})
	}
}

func TestEscapeTagging(t *testing.T) {
	if got, want := escape("a b/c", false), "a%20b%2Fc"; got != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
}
