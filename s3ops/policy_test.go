package s3ops_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trashd/reconcile"
)

// opActions are the IAM actions each S3 operation trashd calls needs (AWS,
// "Actions, resources, and condition keys for Amazon S3" and each
// operation's permissions section), including the ones its arguments bring:
// a VersionId (the …Version actions), tags carried across a copy
// (…Tagging), a copy's source (read) and destination (write).
var opActions = map[string][]string{
	"HeadBucket":              {"s3:ListBucket"},
	"HeadObject":              {"s3:GetObject", "s3:GetObjectVersion"},
	"GetObjectTagging":        {"s3:GetObjectTagging", "s3:GetObjectVersionTagging"},
	"CopyObject":              {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObject", "s3:PutObjectTagging"},
	"CreateMultipartUpload":   {"s3:PutObject", "s3:PutObjectTagging"},
	"UploadPartCopy":          {"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"},
	"CompleteMultipartUpload": {"s3:PutObject"},
	"AbortMultipartUpload":    {"s3:AbortMultipartUpload"},
	"DeleteObject":            {"s3:DeleteObject", "s3:DeleteObjectVersion"},
	// Checked per key, as DeleteObject (the s3:if-match condition
	// included: AWS, "Enforce conditional deletes").
	"DeleteObjects": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
	// The probe of the server's conditions puts objects of its own, and
	// lists them to remove what an earlier probe left (probe.go).
	"PutObject":                       {"s3:PutObject"},
	"ListObjectsV2":                   {"s3:ListBucket"},
	"GetBucketLifecycleConfiguration": {"s3:GetLifecycleConfiguration"},
	"PutBucketLifecycleConfiguration": {"s3:PutLifecycleConfiguration"},
	"RestoreObject":                   {"s3:RestoreObject"},
	// A restore over an older version of a versioned source key, to see
	// what lies beneath its copy.
	"ListObjectVersions": {"s3:ListBucketVersions"},
	// S3 Inventory: reading reports (ListObjectsV2 above finds them), and
	// the trash bucket's inventory configuration (the list needs the same
	// action as one).
	"GetObject":                         {"s3:GetObject"},
	"GetBucketInventoryConfiguration":   {"s3:GetInventoryConfiguration"},
	"ListBucketInventoryConfigurations": {"s3:GetInventoryConfiguration"},
	"PutBucketInventoryConfiguration":   {"s3:PutInventoryConfiguration"},
}

// probeActions are what the probe of the conditions needs on its own
// objects in every bucket it probes: the trash bucket and the sources.
var probeActions = []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}

type statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string]string
}

func readPolicy(t *testing.T) []statement {
	t.Helper()
	b, err := os.ReadFile("../systemd/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Version   string
		Statement []statement
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("systemd/iam-policy.json is not a valid policy: %v", err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("Version %q, want 2012-10-17", p.Version)
	}
	sids := map[string]bool{}
	for _, s := range p.Statement {
		if s.Sid == "" || sids[s.Sid] || s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("statement %+v: want a unique Sid, Effect Allow, actions and resources", s)
		}
		sids[s.Sid] = true
	}
	return p.Statement
}

// calledOperations are the S3 operations s3ops's code calls (c.s3.Op(…)),
// found in its source, tests aside.
func calledOperations(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "s3" {
					ops[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return slices.Sorted(maps.Keys(ops))
}

// The policy is valid JSON and grants exactly the actions of the operations
// the code calls: none missing (AccessDenied in production), none extra.
func TestIAMPolicyGrantsExactlyWhatTheCodeCalls(t *testing.T) {
	t.Parallel()
	ops := calledOperations(t)
	if len(ops) < 10 {
		t.Fatalf("found only the operations %v in s3ops", ops)
	}
	want := map[string]bool{}
	for _, op := range ops {
		actions, ok := opActions[op]
		if !ok {
			t.Errorf("s3ops calls %s: add its IAM actions to opActions and to systemd/iam-policy.json", op)
		}
		for _, a := range actions {
			want[a] = true
		}
	}
	got := map[string]bool{}
	for _, s := range readPolicy(t) {
		for _, a := range s.Action {
			got[a] = true
		}
	}
	for a := range want {
		if !got[a] {
			t.Errorf("the policy does not grant %s, which the code needs", a)
		}
	}
	for a := range got {
		if !want[a] {
			t.Errorf("the policy grants %s, which no operation the code calls needs", a)
		}
	}
}

// The policy holds trashd to what it does: it writes only new keys in the
// source bucket, deletes a source only while its ETag is unchanged, has
// what a versioned trash bucket needs for restores, and grants writing the
// lifecycle rule in a statement of its own (enforce mode only).
func TestIAMPolicyConditions(t *testing.T) {
	t.Parallel()
	const source, trash = "arn:aws:s3:::LMS-SOURCE-BUCKET/*", "arn:aws:s3:::LMS-TRASH-BUCKET/*"
	grants := func(s statement, action, resource string) bool {
		return slices.Contains(s.Action, action) && slices.Contains(s.Resource, resource)
	}
	var trashActions []string
	for _, s := range readPolicy(t) {
		if grants(s, "s3:PutObject", source) {
			// New keys, or over exactly the version a restore saw; the
			// parts of a multipart copy carry no conditional header and
			// create nothing, so they are let through by
			// s3:ObjectCreationOperation (AWS, "Enforce conditional
			// writes on Amazon S3 buckets").
			if s.Condition["Null"]["s3:if-none-match"] != "false" && s.Condition["Null"]["s3:if-match"] != "false" && s.Condition["Bool"]["s3:ObjectCreationOperation"] != "false" {
				t.Errorf("%s grants s3:PutObject on the source without requiring If-None-Match or If-Match (or excluding object creation): %+v", s.Sid, s.Condition)
			}
		}
		if grants(s, "s3:DeleteObject", source) && s.Condition["Null"]["s3:if-match"] != "false" {
			t.Errorf("%s grants s3:DeleteObject on the source without requiring If-Match: %+v", s.Sid, s.Condition)
		}
		if slices.Contains(s.Action, "s3:PutLifecycleConfiguration") && (len(s.Action) != 1 || !strings.Contains(s.Sid, "EnforceModeOnly")) {
			t.Errorf("%s: s3:PutLifecycleConfiguration must be alone in a statement marked for enforce mode only: %v", s.Sid, s.Action)
		}
		if slices.Contains(s.Resource, trash) {
			trashActions = append(trashActions, s.Action...)
		}
	}
	for _, a := range []string{"s3:GetObjectVersion", "s3:GetObjectVersionTagging", "s3:DeleteObjectVersion"} {
		if !slices.Contains(trashActions, a) {
			t.Errorf("the trash bucket lacks %s: restores from a versioned trash bucket would fail with AccessDenied", a)
		}
	}
}

// The probe of the conditions has statements of its own, in both buckets:
// unconditional writes and deletes on its own prefix and nowhere else, and
// the listing of that prefix alone (versions too, for a versioned bucket).
func TestIAMPolicyProbe(t *testing.T) {
	t.Parallel()
	var probeARNs, buckets []string
	for _, b := range []string{"LMS-SOURCE-BUCKET", "LMS-TRASH-BUCKET"} {
		probeARNs = append(probeARNs, "arn:aws:s3:::"+b+"/"+reconcile.ProbePrefix+"*")
		buckets = append(buckets, "arn:aws:s3:::"+b)
	}
	var objects, lists int
	for _, s := range readPolicy(t) {
		onProbe := slices.ContainsFunc(s.Resource, func(r string) bool { return strings.Contains(r, reconcile.ProbePrefix) })
		if onProbe {
			objects++
			if !slices.Equal(s.Action, probeActions) || !slices.Equal(s.Resource, probeARNs) || s.Condition != nil {
				t.Errorf("%s: %v on %v, %v; want exactly %v on %v", s.Sid, s.Action, s.Resource, s.Condition, probeActions, probeARNs)
			}
		}
		if prefix, ok := s.Condition["StringEquals"]["s3:prefix"]; ok {
			lists++
			if prefix != reconcile.ProbePrefix || !slices.Equal(s.Action, []string{"s3:ListBucket", "s3:ListBucketVersions"}) || !slices.Equal(s.Resource, buckets) {
				t.Errorf("%s: %v on %v for the prefix %q; want listing %s in %v", s.Sid, s.Action, s.Resource, prefix, reconcile.ProbePrefix, buckets)
			}
		}
	}
	if objects != 1 || lists != 1 {
		t.Errorf("%d statements on the probe's objects and %d listing them, want one of each", objects, lists)
	}
}
