package s3ops

import "strings"

// copySource is the x-amz-copy-source value for one object version:
// "bucket/key", URL-encoded, with "?versionId=" when version is set. S3
// decodes the header as a URL path, so a key's "+", "%", "?", "#", spaces and
// non-ASCII bytes must be percent-encoded or S3 looks up another key (or
// none). "/" is left as it is: S3 splits the bucket from the key at the
// first slash and takes the key's own slashes literally.
func copySource(bucket, key, version string) string {
	s := escape(bucket, false) + "/" + escape(key, true)
	if version != "" {
		s += "?versionId=" + escape(version, false)
	}
	return s
}

// escape percent-encodes every byte of s outside RFC 3986's unreserved set
// (and outside "/" when keepSlash), byte by byte, so that UTF-8 keys come out
// as their encoded bytes. Unlike url.QueryEscape it never writes "+" for a
// space, which S3 would read back as a literal "+" in a path.
func escape(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
