package s3ops

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithytime "github.com/aws/smithy-go/time"
)

// The answers of direct requests are read as the SDK's deserializers read
// them: the first value of each header, trimmed; numbers, flags and dates
// parsed the same way (a value that does not parse fails the read, and the
// call goes to the SDK, which fails it too). Header names are matched in
// net/http's canonical form, which every answer's header map is in.

// metaPrefix starts the header of each user metadata entry, canonical.
const metaPrefix = "X-Amz-Meta-"

// headOutput reads a HeadObject answer's headers.
func headOutput(h http.Header) (*s3.HeadObjectOutput, error) {
	out := &s3.HeadObjectOutput{}
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		v := strings.TrimSpace(values[0])
		var err error
		switch name {
		case "Accept-Ranges":
			out.AcceptRanges = &v
		case "X-Amz-Archive-Status":
			out.ArchiveStatus = types.ArchiveStatus(v)
		case "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled":
			out.BucketKeyEnabled, err = parseBool(v)
		case "Cache-Control":
			out.CacheControl = &v
		case "X-Amz-Checksum-Crc32":
			out.ChecksumCRC32 = &v
		case "X-Amz-Checksum-Crc32c":
			out.ChecksumCRC32C = &v
		case "X-Amz-Checksum-Crc64nvme":
			out.ChecksumCRC64NVME = &v
		case "X-Amz-Checksum-Md5":
			out.ChecksumMD5 = &v
		case "X-Amz-Checksum-Sha1":
			out.ChecksumSHA1 = &v
		case "X-Amz-Checksum-Sha256":
			out.ChecksumSHA256 = &v
		case "X-Amz-Checksum-Sha512":
			out.ChecksumSHA512 = &v
		case "X-Amz-Checksum-Type":
			out.ChecksumType = types.ChecksumType(v)
		case "X-Amz-Checksum-Xxhash128":
			out.ChecksumXXHASH128 = &v
		case "X-Amz-Checksum-Xxhash3":
			out.ChecksumXXHASH3 = &v
		case "X-Amz-Checksum-Xxhash64":
			out.ChecksumXXHASH64 = &v
		case "Content-Disposition":
			out.ContentDisposition = &v
		case "Content-Encoding":
			out.ContentEncoding = &v
		case "Content-Language":
			out.ContentLanguage = &v
		case "Content-Length":
			var n int64
			if n, err = strconv.ParseInt(v, 0, 64); err == nil {
				out.ContentLength = &n
			}
		case "Content-Range":
			out.ContentRange = &v
		case "Content-Type":
			out.ContentType = &v
		case "X-Amz-Delete-Marker":
			out.DeleteMarker, err = parseBool(v)
		case "Etag":
			out.ETag = &v
		case "X-Amz-Expiration":
			out.Expiration = &v
		case "Expires":
			// As the SDK: the raw value always, the date only if it is one.
			out.ExpiresString = &v
			if t, err := smithytime.ParseHTTPDate(v); err == nil {
				out.Expires = &t
			}
		case "Last-Modified":
			out.LastModified, err = parseTime(smithytime.ParseHTTPDate, v)
		case "X-Amz-Missing-Meta":
			out.MissingMeta, err = parseInt32(v)
		case "X-Amz-Object-Lock-Event-Hold":
			out.ObjectLockEventHold = types.ObjectLockEventHold(v)
		case "X-Amz-Object-Lock-Event-Hold-Duration-Days":
			out.ObjectLockEventHoldDurationDays, err = parseInt32(v)
		case "X-Amz-Object-Lock-Event-Hold-Duration-Years":
			out.ObjectLockEventHoldDurationYears, err = parseInt32(v)
		case "X-Amz-Object-Lock-Legal-Hold":
			out.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatus(v)
		case "X-Amz-Object-Lock-Mode":
			out.ObjectLockMode = types.ObjectLockMode(v)
		case "X-Amz-Object-Lock-Retain-Until-Date":
			out.ObjectLockRetainUntilDate, err = parseTime(smithytime.ParseDateTime, v)
		case "X-Amz-Mp-Parts-Count":
			out.PartsCount, err = parseInt32(v)
		case "X-Amz-Replication-Status":
			out.ReplicationStatus = types.ReplicationStatus(v)
		case "X-Amz-Request-Charged":
			out.RequestCharged = types.RequestCharged(v)
		case "X-Amz-Restore":
			out.Restore = &v
		case "X-Amz-Server-Side-Encryption":
			out.ServerSideEncryption = types.ServerSideEncryption(v)
		case "X-Amz-Server-Side-Encryption-Customer-Algorithm":
			out.SSECustomerAlgorithm = &v
		case "X-Amz-Server-Side-Encryption-Customer-Key-Md5":
			out.SSECustomerKeyMD5 = &v
		case "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id":
			out.SSEKMSKeyId = &v
		case "X-Amz-Storage-Class":
			out.StorageClass = types.StorageClass(v)
		case "X-Amz-Tagging-Count":
			out.TagCount, err = parseInt32(v)
		case "X-Amz-Version-Id":
			out.VersionId = &v
		case "X-Amz-Website-Redirect-Location":
			out.WebsiteRedirectLocation = &v
		default:
			if strings.HasPrefix(name, metaPrefix) {
				if out.Metadata == nil {
					out.Metadata = map[string]string{}
				}
				out.Metadata[strings.ToLower(name[len(metaPrefix):])] = v
			}
		}
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
	}
	return out, nil
}

// copyOutput reads a CopyObject answer: its headers, and body, which must
// be a CopyObjectResult (S3 can answer 200 and then an <Error> in the body
// when a copy fails after it started).
func copyOutput(h http.Header, body []byte) (*s3.CopyObjectOutput, error) {
	out := &s3.CopyObjectOutput{}
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		v := strings.TrimSpace(values[0])
		var err error
		switch name {
		case "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled":
			out.BucketKeyEnabled, err = parseBool(v)
		case "X-Amz-Copy-Source-Version-Id":
			out.CopySourceVersionId = &v
		case "X-Amz-Expiration":
			out.Expiration = &v
		case "X-Amz-Request-Charged":
			out.RequestCharged = types.RequestCharged(v)
		case "X-Amz-Server-Side-Encryption":
			out.ServerSideEncryption = types.ServerSideEncryption(v)
		case "X-Amz-Server-Side-Encryption-Customer-Algorithm":
			out.SSECustomerAlgorithm = &v
		case "X-Amz-Server-Side-Encryption-Customer-Key-Md5":
			out.SSECustomerKeyMD5 = &v
		case "X-Amz-Server-Side-Encryption-Context":
			out.SSEKMSEncryptionContext = &v
		case "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id":
			out.SSEKMSKeyId = &v
		case "X-Amz-Version-Id":
			out.VersionId = &v
		}
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
	}
	result, err := copyResult(body)
	if err != nil {
		return nil, err
	}
	out.CopyObjectResult = result
	return out, nil
}

// copyResultXML is a CopyObjectResult as S3 writes it.
type copyResultXML struct {
	XMLName           xml.Name
	ETag              *string `xml:"ETag"`
	LastModified      *string `xml:"LastModified"`
	ChecksumType      string  `xml:"ChecksumType"`
	ChecksumCRC32     *string `xml:"ChecksumCRC32"`
	ChecksumCRC32C    *string `xml:"ChecksumCRC32C"`
	ChecksumCRC64NVME *string `xml:"ChecksumCRC64NVME"`
	ChecksumMD5       *string `xml:"ChecksumMD5"`
	ChecksumSHA1      *string `xml:"ChecksumSHA1"`
	ChecksumSHA256    *string `xml:"ChecksumSHA256"`
	ChecksumSHA512    *string `xml:"ChecksumSHA512"`
	ChecksumXXHASH128 *string `xml:"ChecksumXXHASH128"`
	ChecksumXXHASH3   *string `xml:"ChecksumXXHASH3"`
	ChecksumXXHASH64  *string `xml:"ChecksumXXHASH64"`
}

// errNoCopyResult is a 2xx CopyObject answer whose body is not a
// CopyObjectResult.
var errNoCopyResult = errors.New("the answer is no CopyObjectResult")

func copyResult(body []byte) (*types.CopyObjectResult, error) {
	var x copyResultXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return nil, fmt.Errorf("%w: %w", errNoCopyResult, err)
	}
	if x.XMLName.Local != "CopyObjectResult" {
		return nil, fmt.Errorf("%w: <%s>", errNoCopyResult, x.XMLName.Local)
	}
	r := &types.CopyObjectResult{
		ETag:              x.ETag,
		ChecksumType:      types.ChecksumType(x.ChecksumType),
		ChecksumCRC32:     x.ChecksumCRC32,
		ChecksumCRC32C:    x.ChecksumCRC32C,
		ChecksumCRC64NVME: x.ChecksumCRC64NVME,
		ChecksumMD5:       x.ChecksumMD5,
		ChecksumSHA1:      x.ChecksumSHA1,
		ChecksumSHA256:    x.ChecksumSHA256,
		ChecksumSHA512:    x.ChecksumSHA512,
		ChecksumXXHASH128: x.ChecksumXXHASH128,
		ChecksumXXHASH3:   x.ChecksumXXHASH3,
		ChecksumXXHASH64:  x.ChecksumXXHASH64,
	}
	if x.LastModified != nil {
		t, err := smithytime.ParseDateTime(*x.LastModified)
		if err != nil {
			return nil, fmt.Errorf("LastModified: %w", err)
		}
		r.LastModified = &t
	}
	return r, nil
}

func parseBool(v string) (*bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func parseInt32(v string) (*int32, error) {
	n, err := strconv.ParseInt(v, 0, 32)
	if err != nil {
		return nil, err
	}
	n32 := int32(n)
	return &n32, nil
}

func parseTime(parse func(string) (time.Time, error), v string) (*time.Time, error) {
	t, err := parse(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
