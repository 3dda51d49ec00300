package s3test

import (
	"html"
	"regexp"
	"strings"
	"time"
)

// The parts of a ListObjectsV2 or ListObjectVersions answer that
// AgeListing reads: its entries, and each entry's key and date.
var (
	listEntry    = regexp.MustCompile(`(?s)<(Contents|Version|DeleteMarker)>.*?</(Contents|Version|DeleteMarker)>`)
	listKey      = regexp.MustCompile(`(?s)<Key>(.*?)</Key>`)
	lastModified = regexp.MustCompile(`<LastModified>([^<]*)</LastModified>`)
)

// AgeListing returns an edit, for EditBody, of a ListObjectsV2 or
// ListObjectVersions answer that moves the LastModified of every entry
// whose key starts with prefix back by age, as the server would list them
// age later: a test of what is done with old objects, without waiting.
// Every other byte of the server's answer stays as it was.
func AgeListing(prefix string, age time.Duration) func(body string) string {
	return func(body string) string {
		return listEntry.ReplaceAllStringFunc(body, func(entry string) string {
			key := listKey.FindStringSubmatch(entry)
			if key == nil || !strings.HasPrefix(html.UnescapeString(key[1]), prefix) {
				return entry
			}
			return lastModified.ReplaceAllStringFunc(entry, func(lm string) string {
				t, err := time.Parse(time.RFC3339Nano, lastModified.FindStringSubmatch(lm)[1])
				if err != nil {
					return lm
				}
				return "<LastModified>" + t.Add(-age).UTC().Format(time.RFC3339Nano) + "</LastModified>"
			})
		})
	}
}
