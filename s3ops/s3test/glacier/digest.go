package glacier

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// crc64NVME is the CRC-64/NVME polynomial, reversed, as hash/crc64 wants it.
const crc64NVME = 0x9A6C9329AC4BC9B5

// checksums are the x-amz-checksum-* algorithms S3 accepts, by the header's
// suffix, each with the name S3's error messages use.
var checksums = []struct {
	header, name string
	hash         func() hash.Hash
}{
	{"crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"crc32c", "CRC32C", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{"crc64nvme", "CRC64NVME", func() hash.Hash { return crc64.New(crc64.MakeTable(crc64NVME)) }},
	{"sha1", "SHA1", sha1.New},
	{"sha256", "SHA256", sha256.New},
}

// hasDigest reports whether the client sent Content-MD5 or an
// x-amz-checksum-* value, in its headers or in an aws-chunked trailer.
func hasDigest(headers, trailer http.Header) bool {
	if headers.Get("Content-Md5") != "" {
		return true
	}
	for _, c := range checksums {
		name := "X-Amz-Checksum-" + c.header
		if headers.Get(name) != "" || trailer.Get(name) != "" {
			return true
		}
	}
	return false
}

// checkDigests checks body against the Content-MD5 and x-amz-checksum-*
// values the client sent, in its headers or in an aws-chunked trailer.
func checkDigests(body []byte, headers, trailer http.Header) *apiError {
	if v := headers.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidDigest", Message: "The Content-MD5 you specified was invalid."}
		}
		if got := md5.Sum(body); !bytes.Equal(got[:], want) {
			return &apiError{Status: http.StatusBadRequest, Code: "BadDigest", Message: "The Content-MD5 you specified did not match what we received."}
		}
	}
	for _, c := range checksums {
		name := "X-Amz-Checksum-" + c.header
		v := cmp.Or(headers.Get(name), trailer.Get(name))
		if v == "" {
			continue
		}
		h := c.hash()
		h.Write(body)
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) != v {
			return &apiError{Status: http.StatusBadRequest, Code: "BadDigest",
				Message: fmt.Sprintf("The %s you specified did not match the calculated checksum.", c.name)}
		}
	}
	return nil
}

// awsChunked reports whether r's body is in aws-chunked encoding (a
// streaming SigV4 upload, signed or not, perhaps with a trailer).
func awsChunked(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") ||
		strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
}

// decodeAWSChunked returns the payload of an aws-chunked body: chunks of
// "<hex size>[;chunk-signature=...]\r\n<data>\r\n", ending with a
// zero-size chunk and optional trailing headers, which go into trailer.
// Chunk signatures are not checked.
func decodeAWSChunked(b []byte, trailer http.Header) ([]byte, error) {
	br := bufio.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, errors.New("aws-chunked body ends inside a chunk header")
		}
		sizeField, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeField), 16, 64)
		if err != nil || size < 0 || size > int64(len(b)) {
			return nil, fmt.Errorf("aws-chunked body has a bad chunk size %q", sizeField)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, errors.New("aws-chunked body ends inside a chunk")
		}
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
			return nil, errors.New("aws-chunked chunk is not followed by CRLF")
		}
	}
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("aws-chunked trailer: %w", err)
	}
	for k, vs := range h {
		for _, v := range vs {
			trailer.Add(k, v)
		}
	}
	return out.Bytes(), nil
}
