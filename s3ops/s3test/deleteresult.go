package s3test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// DeleteResult is the body of a 200 DeleteObjects answer: what a test reads
// from the server's answer, changes, and puts in its place.
type DeleteResult struct {
	Deleted []DeleteEntry
	Errors  []DeleteEntry
}

// DeleteEntry is one object of a DeleteResult: a <Deleted> when Code is
// empty, else an <Error>.
type DeleteEntry struct {
	Key, VersionID string
	Code, Message  string
}

// ParseDeleteResult reads a DeleteObjects answer's body.
func ParseDeleteResult(body string) (DeleteResult, error) {
	var doc struct {
		Deleted []struct {
			Key       string
			VersionID string `xml:"VersionId"`
		}
		Errors []struct {
			Key       string
			VersionID string `xml:"VersionId"`
			Code      string
			Message   string
		} `xml:"Error"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		return DeleteResult{}, fmt.Errorf("parse DeleteObjects answer %q: %w", body, err)
	}
	var r DeleteResult
	for _, d := range doc.Deleted {
		r.Deleted = append(r.Deleted, DeleteEntry{Key: d.Key, VersionID: d.VersionID})
	}
	for _, e := range doc.Errors {
		r.Errors = append(r.Errors, DeleteEntry{Key: e.Key, VersionID: e.VersionID, Code: e.Code, Message: e.Message})
	}
	return r, nil
}

// Body writes r as AWS writes a DeleteObjects answer (the S3 API
// Reference's example): an XML declaration on a line of its own, then on
// one line the namespaced DeleteResult, its Deleted entries before its
// Error entries, each entry's Key first, then VersionId, then an Error's
// Code and Message. Text is escaped as encoding/xml escapes it (CR as
// &#xD;).
func (r DeleteResult) Body() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	element := func(name, text string) {
		if text == "" {
			return
		}
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(text))
		b.WriteString("</" + name + ">")
	}
	for _, d := range r.Deleted {
		b.WriteString("<Deleted>")
		element("Key", d.Key)
		element("VersionId", d.VersionID)
		b.WriteString("</Deleted>")
	}
	for _, e := range r.Errors {
		b.WriteString("<Error>")
		element("Key", e.Key)
		element("VersionId", e.VersionID)
		element("Code", e.Code)
		element("Message", e.Message)
		b.WriteString("</Error>")
	}
	b.WriteString("</DeleteResult>")
	return b.String()
}

// EditDeleteResult returns an EditResponse for a DeleteObjects request: it
// reads the server's answer, lets edit change it, and puts the result in
// its place with status 200. An answer that does not parse fails the test.
func EditDeleteResult(tb testing.TB, edit func(*DeleteResult)) func(*http.Response) {
	return EditBody(func(body string) string {
		r, err := ParseDeleteResult(body)
		if err != nil {
			tb.Errorf("edit the server's answer: %v", err)
			return body
		}
		edit(&r)
		return r.Body()
	})
}

// EditBody returns an EditResponse that puts edit's result in place of the
// server's body, with status 200.
func EditBody(edit func(body string) string) func(*http.Response) {
	return func(resp *http.Response) {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Respond(http.StatusOK, edit(string(body)))(resp)
	}
}

// Respond returns an EditResponse that puts status and body in place of the
// server's answer.
func Respond(status int, body string) func(*http.Response) {
	return func(resp *http.Response) {
		resp.Body.Close()
		resp.StatusCode, resp.Status = status, fmt.Sprintf("%d %s", status, http.StatusText(status))
		resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		resp.Header.Del("Content-Length")
	}
}
