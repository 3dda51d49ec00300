package s3ops

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	smithyxml "github.com/aws/smithy-go/encoding/xml"
)

// TestBatchableIsWhatSurvivesXML checks batchable against the XML code
// itself, for every Unicode code point and for bytes that are not UTF-8: a
// key is batchable exactly when it survives both ways a DeleteObjects
// carries it, the SDK's encoder then encoding/xml's decoder (the request),
// and written unescaped then decoded (an answer from a server that does not
// escape CR, LF or TAB).
func TestBatchableIsWhatSurvivesXML(t *testing.T) {
	t.Parallel()
	keys := []string{"a\xffb", "a\xc3b", "\xed\xa0\x80"} // not UTF-8; a surrogate
	for r := rune(0); r <= 0x10FFFF; r++ {
		if r < 0x3000 || r%251 == 0 || r >= 0xFFF0 && r <= 0xFFFF {
			keys = append(keys, "a"+string(r)+"b")
		}
	}
	for _, key := range keys {
		survives := decoded(sdkEncoded(key)) == key && decoded(rawEncoded(key)) == key
		if got := batchable(key); got != survives {
			t.Errorf("batchable(%+q) = %v, but it survives both ways: %v", key, got, survives)
		}
	}
}

// sdkEncoded is key as the SDK writes it in a DeleteObjects request.
func sdkEncoded(key string) string {
	var b bytes.Buffer
	smithyxml.NewEncoder(&b).RootElement(smithyxml.StartElement{Name: smithyxml.Name{Local: "Key"}}).String(key)
	return b.String()
}

// rawEncoded is key written with only the markup characters escaped.
func rawEncoded(key string) string {
	return "<Key>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(key) + "</Key>"
}

// decoded is the text of doc's root element as encoding/xml reads it, or a
// marker when it does not parse.
func decoded(doc string) string {
	var k string
	if err := xml.Unmarshal([]byte(doc), &k); err != nil {
		return "\x00unparsable"
	}
	return k
}
