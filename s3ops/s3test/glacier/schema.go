package glacier

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// schema lists, for each element that has children, the children it may
// have and whether each may repeat. An element that is not a key has text
// only; a key with a nil map may hold anything.
type schema map[string]map[string]bool

// checkSchema reports whether doc is well-formed XML with root as its one
// root element and only the elements s allows, each at most once unless it
// may repeat. encoding/xml alone ignores unknown elements and keeps the last
// of repeated ones, where S3 refuses the document as MalformedXML.
func checkSchema(doc []byte, root string, s schema) error {
	type frame struct {
		name string
		seen map[string]bool
		any  bool
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*frame
	roots := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if len(stack) == 0 {
				roots++
				if name != root || roots > 1 {
					return fmt.Errorf("root element %s, want one %s", name, root)
				}
				stack = append(stack, &frame{name: name, seen: map[string]bool{}})
				continue
			}
			parent := stack[len(stack)-1]
			if parent.any {
				stack = append(stack, &frame{name: name, any: true})
				continue
			}
			children, ok := s[parent.name]
			if !ok {
				return fmt.Errorf("element %s in %s, which holds text only", name, parent.name)
			}
			repeats, ok := children[name]
			if !ok {
				return fmt.Errorf("unknown element %s in %s", name, parent.name)
			}
			if parent.seen[name] && !repeats {
				return fmt.Errorf("element %s repeated in %s", name, parent.name)
			}
			parent.seen[name] = true
			sub, hasChildren := s[name]
			stack = append(stack, &frame{name: name, seen: map[string]bool{}, any: hasChildren && sub == nil})
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root element")
			}
		}
	}
	if roots == 0 {
		return errors.New("empty document")
	}
	return nil
}
