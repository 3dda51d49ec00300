package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"trashd/reconcile"
	"trashd/s3ops"
)

// TRASHD_S3_CHECKSUMS values.
const (
	checksumsWhenSupported = "when_supported"
	checksumsWhenRequired  = "when_required"
)

// s3Variables are the S3 client's variables, the buckets and the trash key;
// s3ops.Options.Validate and reconcile.Config.Validate check them.
func s3Variables() []variable {
	return []variable{
		{Name: "TRASHD_S3_REGION", Default: "us-east-1", Desc: "AWS region", Opt: "S3.Region", parse: parseRegion},
		{Name: "TRASHD_S3_ENDPOINT", Desc: "S3 endpoint URL, the server only (`http://127.0.0.1:8333`; a bucket goes in `TRASHD_SOURCE_BUCKET` and `TRASHD_TRASH_BUCKET`, never in its path); empty means AWS", Opt: "S3.Endpoint", parse: parseEndpoint},
		boolVar("TRASHD_S3_PATH_STYLE", false, "path-style addressing (S3-compatible servers)", func(c *Config) *bool { return &c.S3.PathStyle }),
		{Name: "TRASHD_S3_CHECKSUMS", Default: checksumsWhenSupported, Desc: "request checksums and response validation: `when_supported` (AWS) or `when_required` (S3-compatible servers)", Opt: "S3.ChecksumWhenRequired",
			parse: func(p *problems, v string, c *Config) {
				c.S3.ChecksumWhenRequired = p.oneOf("TRASHD_S3_CHECKSUMS", v, checksumsWhenSupported, checksumsWhenRequired) == checksumsWhenRequired
			}},
		{Name: "TRASHD_SOURCE_BUCKET", Desc: "the source bucket of rows without a bucket column", Opt: "Reconcile.SourceBucket,LMS.DefaultBucket",
			parse: func(_ *problems, v string, c *Config) { c.Reconcile.SourceBucket, c.LMS.DefaultBucket = v, v }},
		stringVar("TRASHD_TRASH_BUCKET", "", "the trash bucket (required)", func(c *Config) *string { return &c.Reconcile.TrashBucket }),
		{Name: "TRASHD_TRASH_KEY_TEMPLATE", Default: reconcile.DefaultKeyTemplate, Desc: "the trash key: `{id}` (LMS row id, required), `{bucket}`, `{key}`; a result over 1,024 bytes uses `sha256-<hex of the key>` for `{key}`. `{id}` must be delimited so that no two rows share a key: followed by a character no id holds (`/`, `-`, `_`; not a digit or `.`) with no `{key}` before it, or preceded by one (`/`, `_`) with no `{key}` after it (`{id}{key}` and `{id}.{key}` are refused). A row trashed again after a restore renders `{id}` as `ID.N` (its Nth life), so that a copy an earlier life left for another row is never reused or removed", Opt: "Reconcile.TrashKeys",
			parse: func(p *problems, v string, c *Config) {
				tmpl, err := reconcile.ParseKeyTemplate(v)
				if err != nil {
					p.add("TRASHD_TRASH_KEY_TEMPLATE", err.Error())
				}
				c.Reconcile.TrashKeys = tmpl
			}},
		bytesVar("TRASHD_MULTIPART_THRESHOLD", s3ops.DefaultMultipartThreshold, "objects above this are copied in parts (at most 5GiB, S3's CopyObject limit)", func(c *Config) *int64 { return &c.S3.MultipartThreshold }),
		bytesVar("TRASHD_PART_SIZE", s3ops.DefaultPartSize, "part size when a checksummed single-part source is copied in parts (5MiB to 5GiB)", func(c *Config) *int64 { return &c.S3.PartSize }),
		intVar("TRASHD_PART_CONCURRENCY", s3ops.DefaultPartConcurrency, "parts copied at once for one object", func(c *Config) *int { return &c.S3.PartConcurrency }),
		{Name: "TRASHD_S3_FORBID", Desc: "conditions trashd never relies on, whatever its probe of a bucket finds: a comma-separated list of `copy_if_none_match`, `complete_if_none_match`, `copy_source_if_match`, `delete_if_match`, `batch_delete_etag` (see [What the S3 server must honour](#what-the-s3-server-must-honour))", Opt: "Reconcile.Forbid", parse: parseForbid},
		boolVar("TRASHD_S3_DELETE_AFTER_HEAD", false, "`true`: on a source bucket that proves no `If-Match` on DeleteObject and keeps no versions, delete a source right after a HEAD that finds exactly the copied object (a file written in that round trip would be lost); `false`: nothing is moved out of such a bucket", func(c *Config) *bool { return &c.Reconcile.DeleteAfterHead }),
		boolVar("TRASHD_S3_HEAD_FIRST", false, "`true`: HEAD every source before its copy (two S3 requests in series per object); `false`: where the source bucket keeps no versions and proves `If-Match` on deletes, and the trash bucket proves `If-None-Match` on copies, a source is copied unread and the copy's answer (its ETag) is the proof the delete's condition checks, one request in series per object", func(c *Config) *bool { return &c.Reconcile.HeadFirst }),
	}
}

// parseRegion reads TRASHD_S3_REGION, which must be set: empty would mean
// AWS_REGION or the shared config in s3ops, but trashd's env file is the one
// place an operator looks.
func parseRegion(p *problems, v string, c *Config) {
	c.S3.Region = v
	if strings.TrimSpace(v) == "" {
		p.add("TRASHD_S3_REGION", "must not be empty: set the buckets' region, e.g. us-east-1")
	}
}

// parseEndpoint reads TRASHD_S3_ENDPOINT, the server only. A bucket in its
// path ("http://host:8333/trash") would otherwise become part of every
// request's path, and each request would fail on a bucket that is not there
// or land in the wrong place.
func parseEndpoint(p *problems, v string, c *Config) {
	c.S3.Endpoint = v
	u, err := url.Parse(v)
	if v == "" || err != nil || u.Host == "" {
		return // s3ops.Options.Validate says what an endpoint must be
	}
	if path := strings.Trim(u.Path, "/"); path != "" || u.RawQuery != "" {
		p.refuse("TRASHD_S3_ENDPOINT", fmt.Sprintf("%q has a path (%q): the endpoint is the server only, such as %s://%s; "+
			"a bucket goes in TRASHD_SOURCE_BUCKET or TRASHD_TRASH_BUCKET, not in the endpoint", v, "/"+path, u.Scheme, u.Host))
	}
}

// parseForbid reads TRASHD_S3_FORBID: conditions never to rely on.
func parseForbid(p *problems, v string, c *Config) {
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		cond := reconcile.Condition(name)
		if !slices.Contains(reconcile.Conditions(), cond) {
			var all []string
			for _, c := range reconcile.Conditions() {
				all = append(all, string(c))
			}
			p.add("TRASHD_S3_FORBID", fmt.Sprintf("%q is no condition trashd relies on; use any of %s", name, strings.Join(all, ", ")))
			continue
		}
		c.Reconcile.Forbid[cond] = "TRASHD_S3_FORBID"
	}
}
