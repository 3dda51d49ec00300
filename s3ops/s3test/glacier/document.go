package glacier

import (
	"encoding/xml"
	"fmt"
)

// lifecycleConfiguration is S3's LifecycleConfiguration document. Every
// element is a pointer or a slice so that what was PUT comes back from GET
// as it was: an empty <Prefix></Prefix> stays, an absent one stays absent.
type lifecycleConfiguration struct {
	XMLName xml.Name        // no tag: any namespace in, S3's namespace out
	Rules   []lifecycleRule `xml:"Rule"`
}

type lifecycleRule struct {
	ID     *string     `xml:"ID"`
	Prefix *string     `xml:"Prefix"` // the deprecated rule-level prefix ("Lifecycle V1")
	Filter *ruleFilter `xml:"Filter"`
	Status *string     `xml:"Status"`

	Transitions                    []transition           `xml:"Transition"`
	Expiration                     *expiration            `xml:"Expiration"`
	NoncurrentVersionTransitions   []noncurrentTransition `xml:"NoncurrentVersionTransition"`
	NoncurrentVersionExpiration    *noncurrentExpiration  `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *abortUpload           `xml:"AbortIncompleteMultipartUpload"`
}

type ruleFilter struct {
	Prefix                *string      `xml:"Prefix"`
	Tag                   *tag         `xml:"Tag"`
	And                   *andOperator `xml:"And"`
	ObjectSizeGreaterThan *int64       `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64       `xml:"ObjectSizeLessThan"`
}

type andOperator struct {
	Prefix                *string `xml:"Prefix"`
	Tags                  []tag   `xml:"Tag"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan"`
}

type tag struct {
	Key   *string `xml:"Key"`
	Value *string `xml:"Value"`
}

type transition struct {
	Date         *string `xml:"Date"`
	Days         *int64  `xml:"Days"`
	StorageClass *string `xml:"StorageClass"`
}

type expiration struct {
	Date                      *string `xml:"Date"`
	Days                      *int64  `xml:"Days"`
	ExpiredObjectDeleteMarker *string `xml:"ExpiredObjectDeleteMarker"`
}

type noncurrentTransition struct {
	NoncurrentDays          *int64  `xml:"NoncurrentDays"`
	StorageClass            *string `xml:"StorageClass"`
	NewerNoncurrentVersions *int64  `xml:"NewerNoncurrentVersions"`
}

type noncurrentExpiration struct {
	NoncurrentDays          *int64 `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int64 `xml:"NewerNoncurrentVersions"`
}

type abortUpload struct {
	DaysAfterInitiation *int64 `xml:"DaysAfterInitiation"`
}

// lifecycleSchema lists, for each element with children, the children S3's
// schema allows and whether each may repeat. Anything else is MalformedXML.
var lifecycleSchema = schema{
	"LifecycleConfiguration": {"Rule": true},
	"Rule": {"ID": false, "Prefix": false, "Filter": false, "Status": false, "Transition": true, "Expiration": false,
		"NoncurrentVersionTransition": true, "NoncurrentVersionExpiration": false, "AbortIncompleteMultipartUpload": false},
	"Filter":                         {"Prefix": false, "Tag": false, "And": false, "ObjectSizeGreaterThan": false, "ObjectSizeLessThan": false},
	"And":                            {"Prefix": false, "Tag": true, "ObjectSizeGreaterThan": false, "ObjectSizeLessThan": false},
	"Tag":                            {"Key": false, "Value": false},
	"Transition":                     {"Date": false, "Days": false, "StorageClass": false},
	"Expiration":                     {"Date": false, "Days": false, "ExpiredObjectDeleteMarker": false},
	"NoncurrentVersionTransition":    {"NoncurrentDays": false, "StorageClass": false, "NewerNoncurrentVersions": false},
	"NoncurrentVersionExpiration":    {"NoncurrentDays": false, "NewerNoncurrentVersions": false},
	"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": false},
}

// predicates are a rule's filter conditions, wherever the rule put them.
type predicates struct {
	prefix          string
	tags            bool
	larger, smaller *int64
}

func (r *lifecycleRule) predicates() predicates {
	f := r.Filter
	switch {
	case f == nil:
		return predicates{prefix: deref(r.Prefix)}
	case f.And != nil:
		return predicates{prefix: deref(f.And.Prefix), tags: len(f.And.Tags) > 0,
			larger: f.And.ObjectSizeGreaterThan, smaller: f.And.ObjectSizeLessThan}
	default:
		return predicates{prefix: deref(f.Prefix), tags: f.Tag != nil,
			larger: f.ObjectSizeGreaterThan, smaller: f.ObjectSizeLessThan}
	}
}

func (r *lifecycleRule) usesTags() bool { return r.predicates().tags }
func (r *lifecycleRule) usesSizes() bool {
	p := r.predicates()
	return p.larger != nil || p.smaller != nil
}

// describeFilter names the rule's filter the way S3's messages do.
func (r *lifecycleRule) describeFilter() string {
	return fmt.Sprintf("filter '(prefix=%s)'", r.predicates().prefix)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
