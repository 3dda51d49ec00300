package reconcile

import (
	"fmt"
	"net/netip"
	"strings"
)

// CheckBucketName checks name against S3's rules for general purpose bucket
// names (AWS, "Bucket naming rules"): 3 to 63 characters of lowercase
// letters, digits, dots and hyphens, beginning and ending with a letter or a
// digit, no two adjacent dots, not an IP address, and none of the reserved
// prefixes and suffixes. A name that breaks them can never be reached, and
// says so plainly instead of as an access error.
func CheckBucketName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("bucket name %q is not a valid S3 bucket name: %s", name, why)
	}
	switch {
	case len(name) < 3 || len(name) > 63:
		return bad(fmt.Sprintf("it is %d characters long; S3 allows 3 to 63", len(name)))
	case strings.Contains(name, ".."):
		return bad("it has two adjacent dots")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return bad("it must begin and end with a lowercase letter or a digit")
			}
		case c >= 'A' && c <= 'Z':
			return bad("it has uppercase letters; S3 bucket names are lowercase")
		default:
			return bad(fmt.Sprintf("it has %q; only lowercase letters, digits, dots and hyphens are allowed", c))
		}
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return bad("it is formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad(fmt.Sprintf("the prefix %q is reserved", p))
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad(fmt.Sprintf("the suffix %q is reserved", s))
		}
	}
	return nil
}
