package s3ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/inventory"
	"trashd/reconcile"
)

// InventoryStore is the client as an inventory.Store: GetObject,
// ListObjectsV2 and PutObject on the bucket where inventory reports land.
// Reading a report needs s3:GetObject and s3:ListBucket on it.
func (c *Client) InventoryStore() inventory.Store { return inventoryStore{c} }

type inventoryStore struct{ c *Client }

// Get returns key's body; a missing key is an error that wraps both
// inventory.ErrNotFound and reconcile.ErrNotFound.
func (s inventoryStore) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := s.c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		err = mapError(objectCall("get", bucket, key, "s3:GetObject"), err)
		if errors.Is(err, reconcile.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", inventory.ErrNotFound, err)
		}
		return nil, err
	}
	return out.Body, nil
}

// List returns every key and common prefix under prefix, page after page.
func (s inventoryStore) List(ctx context.Context, bucket, prefix, delimiter string) (keys, commonPrefixes []string, err error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	pages := s3.NewListObjectsV2Paginator(s.c.s3, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, mapError(call{
				op:      fmt.Sprintf("list s3://%s/%s", bucket, prefix),
				buckets: []string{bucket},
				allow:   fmt.Sprintf("s3:ListBucket on arn:aws:s3:::%s", bucket),
			}, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range page.CommonPrefixes {
			commonPrefixes = append(commonPrefixes, aws.ToString(p.Prefix))
		}
	}
	return keys, commonPrefixes, nil
}

// Put stores body at key. The SDK signs the payload over plain HTTP, so
// body should be an io.ReadSeeker (inventory.Write gives one).
func (s inventoryStore) Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	_, err := s.c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: body, ContentLength: aws.Int64(size),
	})
	return mapError(objectCall("put", bucket, key, "s3:PutObject"), err)
}

// InventoryConfig is one S3 Inventory configuration of a bucket. S3 keeps
// up to 1,000 of them per bucket, each under its id
// (PutBucketInventoryConfiguration takes the id as a parameter and replaces
// only the configuration with that id), so unlike a lifecycle rule it needs
// no merge: putting trashd's leaves every other one as it is.
type InventoryConfig struct {
	ID      string
	Enabled bool
	// DestinationBucket is the name of the bucket the reports land in
	// (S3's API takes and gives its ARN).
	DestinationBucket    string
	DestinationAccountID string // "" for the bucket owner's account
	Prefix               string // the destination prefix; "" for none
	Format               string // CSV, ORC or Parquet
	Frequency            string // Daily or Weekly
	Versions             string // Current or All
	FilterPrefix         string // only objects under this prefix; "" for all
	Fields               []string
}

// Location is where cfg's reports of source land.
func (cfg InventoryConfig) Location(source string) inventory.Location {
	return inventory.Location{Bucket: cfg.DestinationBucket, Prefix: cfg.Prefix, SourceBucket: source, ConfigID: cfg.ID}
}

// InventoryFields are the optional fields trashd asks its inventory for:
// what it checks a record against.
var InventoryFields = []string{
	string(types.InventoryOptionalFieldSize),
	string(types.InventoryOptionalFieldLastModifiedDate),
	string(types.InventoryOptionalFieldStorageClass),
	string(types.InventoryOptionalFieldETag),
	string(types.InventoryOptionalFieldIsMultipartUploaded),
	string(types.InventoryOptionalFieldChecksumAlgorithm),
}

// DesiredInventory is the configuration trashd puts on a bucket: enabled,
// daily, Parquet, every object, with InventoryFields, and all versions
// when versioned.
func DesiredInventory(id, destinationBucket, prefix string, versioned bool) InventoryConfig {
	versions := string(types.InventoryIncludedObjectVersionsCurrent)
	if versioned {
		versions = string(types.InventoryIncludedObjectVersionsAll)
	}
	return InventoryConfig{
		ID: id, Enabled: true, DestinationBucket: destinationBucket, Prefix: prefix,
		Format: inventory.FormatParquet, Frequency: string(types.InventoryFrequencyDaily),
		Versions: versions, Fields: slices.Clone(InventoryFields),
	}
}

// InventoryDrift lists what about got (found false: there is none) keeps
// it from being want: each line says what is there and what is wanted.
// A CSV report reads as well as Parquet, so CSV is no drift when Parquet
// is wanted; extra fields are none either. Another frequency is.
func InventoryDrift(got InventoryConfig, found bool, want InventoryConfig) []string {
	if !found {
		return []string{fmt.Sprintf("no inventory configuration with id %q", want.ID)}
	}
	var d []string
	diff := func(what, got, want string) {
		if got != want {
			d = append(d, fmt.Sprintf("%s %q, want %q", what, got, want))
		}
	}
	if !got.Enabled {
		d = append(d, "disabled, want enabled")
	}
	diff("destination bucket", got.DestinationBucket, want.DestinationBucket)
	diff("destination prefix", got.Prefix, want.Prefix)
	if got.Format != want.Format && !(got.Format == inventory.FormatCSV && want.Format == inventory.FormatParquet) {
		d = append(d, fmt.Sprintf("format %q, want %q (or CSV)", got.Format, want.Format))
	}
	if got.Frequency != want.Frequency {
		// A weekly report is older than TRASHD_INVENTORY_MAX_AGE (48 hours
		// by default) most of the week: passes would confirm with HEAD.
		d = append(d, fmt.Sprintf("frequency %q, want %q (a report older than TRASHD_INVENTORY_MAX_AGE is not used)", got.Frequency, want.Frequency))
	}
	diff("versions", got.Versions, want.Versions)
	diff("filter prefix", got.FilterPrefix, want.FilterPrefix)
	for _, f := range want.Fields {
		if !slices.Contains(got.Fields, f) {
			d = append(d, fmt.Sprintf("no field %s", f))
		}
	}
	return d
}

// Validate reports every setting S3 would refuse, or that trashd could not
// read reports of, each naming the setting.
func (cfg InventoryConfig) Validate() error {
	var bad []string
	if cfg.ID == "" || strings.ContainsAny(cfg.ID, "/ ") || len(cfg.ID) > 64 {
		bad = append(bad, fmt.Sprintf("id %q must be 1 to 64 characters without a slash or a space", cfg.ID))
	}
	if cfg.DestinationBucket == "" || strings.Contains(cfg.DestinationBucket, ":") {
		bad = append(bad, fmt.Sprintf("destination bucket %q must be a bucket name (not an ARN)", cfg.DestinationBucket))
	}
	if cfg.Format != inventory.FormatParquet && cfg.Format != inventory.FormatCSV {
		bad = append(bad, fmt.Sprintf("format %q must be Parquet or CSV (ORC is S3's third, which trashd does not read)", cfg.Format))
	}
	if !slices.Contains(types.InventoryFrequency("").Values(), types.InventoryFrequency(cfg.Frequency)) {
		bad = append(bad, fmt.Sprintf("frequency %q must be Daily or Weekly", cfg.Frequency))
	}
	if !slices.Contains(types.InventoryIncludedObjectVersions("").Values(), types.InventoryIncludedObjectVersions(cfg.Versions)) {
		bad = append(bad, fmt.Sprintf("versions %q must be Current or All", cfg.Versions))
	}
	for _, f := range cfg.Fields {
		if !slices.Contains(types.InventoryOptionalField("").Values(), types.InventoryOptionalField(f)) {
			bad = append(bad, fmt.Sprintf("field %q is not one S3 Inventory writes", f))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("inventory configuration %q: %s", cfg.ID, strings.Join(bad, "; "))
	}
	return nil
}

func inventoryCall(op, bucket, id, allow string) call {
	return call{
		op:      fmt.Sprintf("%s inventory configuration %q of bucket %q", op, id, bucket),
		buckets: []string{bucket},
		allow:   fmt.Sprintf("%s on arn:aws:s3:::%s", allow, bucket),
		unsupported: "the server does not support S3 Inventory configurations: " +
			"leave the inventory settings empty, and trashd confirms transitions with HEAD requests",
	}
}

// InventoryConfiguration reads bucket's inventory configuration id; found
// is false when the bucket has none with that id (NoSuchConfiguration).
func (c *Client) InventoryConfiguration(ctx context.Context, bucket, id string) (cfg InventoryConfig, found bool, err error) {
	out, err := c.s3.GetBucketInventoryConfiguration(ctx, &s3.GetBucketInventoryConfigurationInput{Bucket: aws.String(bucket), Id: aws.String(id)})
	if errorCode(err) == "NoSuchConfiguration" {
		return InventoryConfig{}, false, nil
	}
	if err != nil {
		return InventoryConfig{}, false, mapError(inventoryCall("read", bucket, id, "s3:GetInventoryConfiguration"), err)
	}
	return fromSDKInventory(out.InventoryConfiguration), true, nil
}

// InventoryConfigurations lists every inventory configuration of bucket.
func (c *Client) InventoryConfigurations(ctx context.Context, bucket string) ([]InventoryConfig, error) {
	var out []InventoryConfig
	var token *string
	for {
		page, err := c.s3.ListBucketInventoryConfigurations(ctx, &s3.ListBucketInventoryConfigurationsInput{Bucket: aws.String(bucket), ContinuationToken: token})
		if err != nil {
			return nil, mapError(inventoryCall("list every", bucket, "*", "s3:GetInventoryConfiguration"), err)
		}
		for i := range page.InventoryConfigurationList {
			out = append(out, fromSDKInventory(&page.InventoryConfigurationList[i]))
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// PutInventoryConfiguration puts cfg on bucket under cfg.ID, replacing the
// configuration with that id and no other. S3 then needs a bucket policy
// on the destination bucket that lets s3.amazonaws.com put objects there
// (aws:SourceArn the source bucket); without it, the reports never come.
// The first report comes within 48 hours.
func (c *Client) PutInventoryConfiguration(ctx context.Context, bucket string, cfg InventoryConfig) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("put inventory configuration on bucket %q: %w: nothing was written: %w", bucket, reconcile.ErrPermanent, err)
	}
	_, err := c.s3.PutBucketInventoryConfiguration(ctx, &s3.PutBucketInventoryConfigurationInput{
		Bucket: aws.String(bucket), Id: aws.String(cfg.ID), InventoryConfiguration: toSDKInventory(cfg),
	})
	return mapError(inventoryCall("write", bucket, cfg.ID, "s3:PutInventoryConfiguration"), err)
}

const bucketARNPrefix = "arn:aws:s3:::"

func toSDKInventory(cfg InventoryConfig) *types.InventoryConfiguration {
	dest := &types.InventoryS3BucketDestination{
		Bucket: aws.String(bucketARNPrefix + cfg.DestinationBucket),
		Format: types.InventoryFormat(cfg.Format),
	}
	if cfg.Prefix != "" {
		dest.Prefix = aws.String(cfg.Prefix)
	}
	if cfg.DestinationAccountID != "" {
		dest.AccountId = aws.String(cfg.DestinationAccountID)
	}
	out := &types.InventoryConfiguration{
		Id:                     aws.String(cfg.ID),
		IsEnabled:              aws.Bool(cfg.Enabled),
		Destination:            &types.InventoryDestination{S3BucketDestination: dest},
		IncludedObjectVersions: types.InventoryIncludedObjectVersions(cfg.Versions),
		Schedule:               &types.InventorySchedule{Frequency: types.InventoryFrequency(cfg.Frequency)},
	}
	if cfg.FilterPrefix != "" {
		out.Filter = &types.InventoryFilter{Prefix: aws.String(cfg.FilterPrefix)}
	}
	for _, f := range cfg.Fields {
		out.OptionalFields = append(out.OptionalFields, types.InventoryOptionalField(f))
	}
	return out
}

func fromSDKInventory(in *types.InventoryConfiguration) InventoryConfig {
	if in == nil {
		return InventoryConfig{}
	}
	cfg := InventoryConfig{
		ID:       aws.ToString(in.Id),
		Enabled:  aws.ToBool(in.IsEnabled),
		Versions: string(in.IncludedObjectVersions),
	}
	if in.Destination != nil && in.Destination.S3BucketDestination != nil {
		d := in.Destination.S3BucketDestination
		cfg.DestinationBucket = strings.TrimPrefix(aws.ToString(d.Bucket), bucketARNPrefix)
		cfg.DestinationAccountID = aws.ToString(d.AccountId)
		cfg.Prefix = aws.ToString(d.Prefix)
		cfg.Format = string(d.Format)
	}
	if in.Schedule != nil {
		cfg.Frequency = string(in.Schedule.Frequency)
	}
	if in.Filter != nil {
		cfg.FilterPrefix = aws.ToString(in.Filter.Prefix)
	}
	for _, f := range in.OptionalFields {
		cfg.Fields = append(cfg.Fields, string(f))
	}
	return cfg
}
