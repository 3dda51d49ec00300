package glacier

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// apiError is an S3 error the layer answers with.
type apiError struct {
	Status  int
	Code    string
	Message string
	// StorageClass goes into InvalidObjectState errors, as S3 sends it.
	StorageClass string
	// AccessTier goes into InvalidObjectState errors of objects in an
	// Intelligent-Tiering archive tier.
	AccessTier string
	// BucketName goes into NoSuchBucket and NoSuchLifecycleConfiguration.
	BucketName string
	Key        string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorDocument is S3's XML error body.
type errorDocument struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string
	Message      string
	StorageClass string `xml:",omitempty"`
	AccessTier   string `xml:",omitempty"`
	BucketName   string `xml:",omitempty"`
	Key          string `xml:",omitempty"`
	Resource     string `xml:",omitempty"`
	RequestID    string `xml:"RequestId"`
}

// Errors the layer answers with, worded as S3 words them.
func errAccessDenied() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
}

func errMalformedXML() *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MalformedXML",
		Message: "The XML you provided was not well-formed or did not validate against our published schema"}
}

func errInvalidArgument(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: msg}
}

func errInvalidRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: msg}
}

func errNoSuchBucket(bucket string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchBucket", Message: "The specified bucket does not exist", BucketName: bucket}
}

func errNoSuchKey(key string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchKey", Message: "The specified key does not exist.", Key: key}
}

// errInvalidObjectState is S3's answer to reading (GET, CopyObject,
// UploadPartCopy) an archived object that is not restored.
func errInvalidObjectState(class string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "InvalidObjectState",
		Message: "The operation is not valid for the object's storage class", StorageClass: class}
}

func errInternal(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "We encountered an internal error. Please try again. (" + err.Error() + ")"}
}

// body is e's XML document for request r.
func (e *apiError) body(r *http.Request, requestID string) []byte {
	b, _ := xml.Marshal(errorDocument{
		Code: e.Code, Message: e.Message, StorageClass: e.StorageClass, AccessTier: e.AccessTier,
		BucketName: e.BucketName, Key: e.Key, Resource: r.URL.Path, RequestID: requestID,
	})
	return append([]byte(xml.Header), b...)
}

// writeError answers r with e: an XML body, or none for HEAD.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	id := requestID()
	h := w.Header()
	h.Set("X-Amz-Request-Id", id)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	b := e.body(r, id)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// replaceResponse turns a forwarded answer into e, dropping the server's
// headers and body.
func replaceResponse(resp *http.Response, e *apiError) {
	resp.Body.Close()
	id := requestID()
	var b []byte
	if resp.Request.Method != http.MethodHead {
		b = e.body(resp.Request, id)
	}
	resp.StatusCode = e.Status
	resp.Status = strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	resp.Header = http.Header{}
	resp.Header.Set("X-Amz-Request-Id", id)
	resp.Header.Set("Content-Type", "application/xml")
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.TransferEncoding = nil
	resp.Trailer = nil
}

// requestID is a request ID in the form S3 uses, for the layer's answers.
func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// httpStatus is the HTTP status of an SDK error; 0 for none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// errorCode is the S3 error code of an SDK error; "" for none.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
