package s3ops

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

var _ reconcile.Restorer = (*Client)(nil)

// ErrNotArchived is returned by Restore, together with reconcile.ErrPermanent,
// when S3 refuses to restore an object because it is not in an archive
// storage class (InvalidObjectState): STANDARD, GLACIER_IR and the like are
// read directly, with nothing to restore. Callers that HEAD the object first
// and restore only when it is Archived never see it; one that does has
// acted on a stale storage class, and should HEAD again and copy.
var ErrNotArchived = errors.New("object is not archived")

// Restore tiers (AWS, RestoreObject): Expedited within 1 to 5 minutes (not
// for DEEP_ARCHIVE or Intelligent-Tiering's Deep Archive Access tier, and
// answered with 503 GlacierExpeditedRetrievalNotAvailable when S3 has no
// capacity for it), Standard within 3 to 5 hours (12 for DEEP_ARCHIVE), Bulk
// within 5 to 12 hours (48 for DEEP_ARCHIVE). Both refusals of Expedited
// wrap reconcile.ErrTierUnavailable, so that the caller can fall back.
var restoreTiers = []types.Tier{types.TierExpedited, types.TierStandard, types.TierBulk}

// Restore asks S3 for a temporary copy of the archived obj (its version,
// when obj.VersionID is set) that stays readable for days (an
// Intelligent-Tiering object is restored for good, without days), retrieved at tier
// (Expedited, Standard or Bulk, in any letter case; "" is Standard, S3's
// default).
// It returns as soon as S3 has accepted the request; HEAD tells when the
// copy is ready (Object.Restore, Object.Readable).
//
// S3 answers 202 to a new restore and 200 when a restored copy already
// exists (its expiry is then reset to days from now); both are nil. A
// restore already in progress (409 RestoreAlreadyInProgress) is nil too:
// what the caller asked for is happening. An object that is not archived
// is ErrPermanent and ErrNotArchived.
func (c *Client) Restore(ctx context.Context, obj reconcile.Object, days int, tier string) error {
	cl := objectCall("restore", obj.Bucket, obj.Key, "s3:RestoreObject")
	cl.unsupported = "the server does not support restoring archived objects (RestoreObject)"
	t, err := restoreTier(obj, tier)
	if err == nil && (days < 1 || days > math.MaxInt32) {
		err = fmt.Errorf("a restore must last at least 1 day, not %d", days)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %w", cl.op, reconcile.ErrPermanent, err)
	}
	req := &types.RestoreRequest{GlacierJobParameters: &types.GlacierJobParameters{Tier: t}}
	if !obj.IntelligentTiering() {
		// An Intelligent-Tiering restore moves the object back to the
		// Frequent Access tier for good, and S3 refuses one with Days
		// ("INTELLIGENT_TIERING objects are not subject to restore
		// expiry. Do not specify Days when restoring this object").
		req.Days = aws.Int32(int32(days))
	}
	in := &s3.RestoreObjectInput{
		Bucket:         aws.String(obj.Bucket),
		Key:            aws.String(obj.Key),
		RestoreRequest: req,
	}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	_, err = c.s3.RestoreObject(ctx, in)
	switch errorCode(err) {
	case "RestoreAlreadyInProgress":
		return nil
	case "GlacierExpeditedRetrievalNotAvailable":
		// A 503 when S3 has no Expedited capacity just now (AWS,
		// RestoreObject): the caller may take another tier.
		return fmt.Errorf("%s: %w: %w: Expedited retrievals are not available now: try again later, or restore with the Standard tier: %w",
			cl.op, reconcile.ErrTransient, reconcile.ErrTierUnavailable, err)
	case "InvalidObjectState", "ObjectAlreadyInActiveTierError":
		// From RestoreObject InvalidObjectState means the opposite of what
		// it means from GET or copy (reconcile.ErrArchived): nothing to
		// restore. AWS answers it for a STANDARD or GLACIER_IR object
		// ("Restore is not allowed for the object's current storage
		// class"); its API model names ObjectAlreadyInActiveTierError for
		// the same refusal, which the emulation answers for an
		// Intelligent-Tiering object in an access tier that reads at once.
		return fmt.Errorf("%s: %w: %w: S3 restores only GLACIER and DEEP_ARCHIVE objects and Intelligent-Tiering objects in an archive tier; this one can be read or copied as it is: %w",
			cl.op, reconcile.ErrPermanent, ErrNotArchived, err)
	case "MethodNotAllowed":
		// S3-compatible servers without archive classes (SeaweedFS) do
		// not route POST ?restore at all; S3 answers 405 for a delete
		// marker.
		return fmt.Errorf("%s: %w: %s, or the object's current version is a delete marker: %w", cl.op, reconcile.ErrPermanent, cl.unsupported, err)
	}
	return mapError(cl, err)
}

// restoreTier checks tier for obj and spells it as S3 does.
func restoreTier(obj reconcile.Object, tier string) (types.Tier, error) {
	if tier == "" {
		return types.TierStandard, nil
	}
	for _, t := range restoreTiers {
		if !strings.EqualFold(tier, string(t)) {
			continue
		}
		if t == types.TierExpedited && obj.DeepArchived() {
			return "", fmt.Errorf("%w: DEEP_ARCHIVE objects cannot be restored with the Expedited tier, nor those in Intelligent-Tiering's Deep Archive Access tier: "+
				"use Standard (within 12 hours) or Bulk (within 48 hours)", reconcile.ErrTierUnavailable)
		}
		return t, nil
	}
	return "", fmt.Errorf("restore tier %q is not one of Expedited, Standard, Bulk", tier)
}

// ParseRestore reads HEAD's x-amz-restore header:
//
//	ongoing-request="true"
//	ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"
//
// tolerating spaces around the separators, names in any case, values with
// or without quotes, and names it does not know. An empty header means no
// restore was requested. When the header cannot be read, the error says why
// and the Restore returned is the cautious reading (requested, still
// ongoing), so that nothing tries to read an object that may not be ready.
func ParseRestore(header string) (reconcile.Restore, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return reconcile.Restore{}, nil
	}
	r := reconcile.Restore{Requested: true, Ongoing: true}
	pairs, err := restorePairs(header)
	if err != nil {
		return r, fmt.Errorf("x-amz-restore %q: %w", header, err)
	}
	ongoing, ok := pairs["ongoing-request"]
	switch {
	case !ok:
		return r, fmt.Errorf("x-amz-restore %q: no ongoing-request", header)
	case strings.EqualFold(ongoing, "true"):
		return r, nil
	case !strings.EqualFold(ongoing, "false"):
		return r, fmt.Errorf("x-amz-restore %q: ongoing-request %q is neither true nor false", header, ongoing)
	}
	r.Ongoing = false
	// Restores from S3 Intelligent-Tiering's archive tiers do not expire
	// and have no expiry-date.
	if expiry, ok := pairs["expiry-date"]; ok {
		t, err := http.ParseTime(expiry)
		if err != nil {
			t, err = time.Parse(time.RFC3339, expiry)
		}
		if err != nil {
			return r, fmt.Errorf("x-amz-restore %q: expiry-date %q is not a date", header, expiry)
		}
		r.Expiry = t.UTC()
	}
	return r, nil
}

// restorePairs splits `name="value", name=value` into a map keyed by the
// lowercased name. A value without quotes runs to the next comma that
// starts another name=, so that an unquoted date ("Fri, 21 Dec …") stays
// whole.
func restorePairs(s string) (map[string]string, error) {
	pairs := make(map[string]string)
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return pairs, nil
		}
		name, rest, ok := strings.Cut(s, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !isPairName(name) {
			return pairs, fmt.Errorf("expected name=value at %q", s)
		}
		rest = strings.TrimLeft(rest, " \t")
		var value string
		if quoted, ok := strings.CutPrefix(rest, `"`); ok {
			end := strings.IndexByte(quoted, '"')
			if end < 0 {
				return pairs, fmt.Errorf("unterminated quote at %q", rest)
			}
			value, s = quoted[:end], quoted[end+1:]
		} else {
			end := nextPair(rest)
			value, s = rest[:end], rest[end:]
		}
		pairs[name] = strings.TrimSpace(value)
	}
}

// nextPair is the index of the comma in s that is followed by name=, or
// len(s).
func nextPair(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		name, _, ok := strings.Cut(s[i+1:], "=")
		if ok && isPairName(strings.ToLower(strings.TrimSpace(name))) {
			return i
		}
	}
	return len(s)
}

func isPairName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}
