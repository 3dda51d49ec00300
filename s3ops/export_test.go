package s3ops

// HeadObject and CopyObject are the Client's wrappers around the SDK calls
// of the same names (direct.go), for the tests that compare the direct
// path with the SDK's.
var (
	HeadObject = (*Client).headObject
	CopyObject = (*Client).copyObject
)

// CopySourceOf is the x-amz-copy-source value the Client writes.
var CopySourceOf = copySource
