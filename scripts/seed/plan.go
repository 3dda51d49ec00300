package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// chunkSize is the unit of generated content and the part size of the
// multipart upload: 5 MiB, the smallest part S3 accepts.
const chunkSize = 5 << 20

// object is one planned LMS file: a row, and (unless missing) an object.
type object struct {
	index       int // position in the plan; the row id is index+1
	key         string
	size        int64
	trashed     bool
	contentType string
	missing     bool // a row whose object is never uploaded
	multipart   bool // uploaded in chunkSize parts with metadata and tags
	metadata    map[string]string
	tagging     string // URL-encoded query, as S3's x-amz-tagging header takes it
}

// spec is what the plan is made of. The same spec gives the same plan, byte
// for byte, whatever the bucket and table.
type spec struct {
	n             int
	size          int64 // fixed size, used when maxSize is 0
	minSize       int64
	maxSize       int64
	trashFraction float64
	seed          uint64
	awkward       bool
	large         int64
	missing       int
}

// fileKinds gives regular keys a realistic extension and content type.
var fileKinds = []struct{ ext, contentType string }{
	{"pdf", "application/pdf"},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"txt", "text/plain; charset=utf-8"},
	{"csv", "text/csv"},
	{"zip", "application/zip"},
}

var fileWords = []string{"essay", "notes", "lecture", "slides", "assignment", "syllabus", "photo", "draft", "report", "quiz"}

// makePlan lays out every row in id order: the regular files, then the
// awkward keys, the large object and the missing ones.
func makePlan(s spec) []object {
	r := rand.New(rand.NewPCG(s.seed, 0x7472617368))
	var objs []object
	add := func(o object) {
		o.index = len(objs)
		objs = append(objs, o)
	}

	for i := range s.n {
		kind := fileKinds[r.IntN(len(fileKinds))]
		word := fileWords[r.IntN(len(fileWords))]
		course, user := r.IntN(40), r.IntN(2000)
		size := s.size
		if s.maxSize > 0 {
			size = logUniform(r, s.minSize, s.maxSize)
		}
		// Drawn for every row, whatever the fraction, so that the other
		// draws do not shift when only the fraction changes.
		trashed := r.Float64() < s.trashFraction
		add(object{
			key:         fmt.Sprintf("courses/c%03d/users/u%05d/%06d-%s.%s", course, user, i+1, word, kind.ext),
			size:        size,
			trashed:     trashed,
			contentType: kind.contentType,
		})
	}

	if s.awkward {
		for _, k := range awkwardKeys() {
			size := logUniform(r, 1<<10, 64<<10)
			if strings.HasSuffix(k, "/empty.txt") {
				size = 0
			}
			add(object{key: k, size: size, trashed: true, contentType: "application/octet-stream"})
		}
	}

	if s.large > 0 {
		add(object{
			key:         "courses/c000/lectures/lecture-01-recording.mp4",
			size:        s.large,
			trashed:     true,
			contentType: "video/mp4",
			multipart:   true,
			metadata:    map[string]string{"course": "c000", "uploaded-by": "u00001", "original-name": "Lecture 1 (recording).mp4"},
			tagging:     "lms=trashd-seed&kind=lecture-recording",
		})
	}

	for i := range s.missing {
		add(object{
			key:         fmt.Sprintf("courses/missing/never-uploaded-%02d.pdf", i+1),
			size:        logUniform(r, 1<<10, 64<<10),
			trashed:     true,
			contentType: "application/pdf",
			missing:     true,
		})
	}
	return objs
}

// logUniform draws a size between lo and hi (inclusive) whose logarithm is
// uniform, so that small files are common and large ones rare, as in an LMS.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	a, b := math.Log(float64(max(lo, 1))), math.Log(float64(hi)+1)
	n := int64(math.Exp(a + r.Float64()*(b-a)))
	return min(max(n, lo), hi)
}

// awkwardKeys are keys that break code which builds URLs or headers by string
// concatenation, normalizes Unicode, or double-decodes percent escapes. No
// segment is "..", and none is over 255 bytes: SeaweedFS refuses both.
func awkwardKeys() []string {
	return []string{
		"awkward/café au lait.txt",
		"awkward/nfc-\u00e9.txt",  // é precomposed
		"awkward/nfd-e\u0301.txt", // e + combining acute: a different key
		"awkward/日本語/講義ノート.pdf",
		"awkward/emoji 🎓📚✨.png",
		"awkward/plus+sign+and=equals.txt",
		"awkward/100% sure %41%2F %zz.txt", // %41 and %2F decode to "A" and "/" if decoded twice
		"awkward/question? mark.txt",
		"awkward/#hash #tag.txt",
		"awkward/Q&A; a=b&c=d.txt",
		"awkward/quotes 'single' \"double\".txt",
		"awkward/brackets [1] {2} (3) <4>.txt",
		"awkward/tilde~caret^pipe|backtick`.txt",
		"awkward/comma,semicolon;colon:at@dollar$!.txt",
		"awkward/ leading and trailing spaces .txt",
		"awkward/.hidden/dot.file",
		"awkward/deep/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/leaf.txt",
		longKey("awkward/long/", 1024),
		"awkward/empty.txt",
	}
}

// longKey builds a key of exactly total bytes from segments of at most 100
// bytes: S3 allows 1,024-byte keys, SeaweedFS no segment over 255 bytes.
func longKey(prefix string, total int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; ; i++ {
		rest := total - b.Len()
		if rest <= 100 {
			last := fmt.Sprintf("end-%02d-", i)
			b.WriteString(last)
			b.WriteString(strings.Repeat("z", rest-len(last)-len(".txt")))
			b.WriteString(".txt")
			return b.String()
		}
		seg := fmt.Sprintf("segment-%02d-", i)
		b.WriteString(seg)
		b.WriteString(strings.Repeat("x", 99-len(seg)))
		b.WriteByte('/')
	}
}

// fillChunk writes chunk number chunk of object index's content into buf.
// Each chunk has its own generator, so that the parts of a large object can
// be made in parallel and an object's bytes depend only on seed and index.
func fillChunk(buf []byte, seed uint64, index, chunk int) {
	var key [32]byte
	copy(key[:8], "trashd01")
	binary.LittleEndian.PutUint64(key[8:], seed)
	binary.LittleEndian.PutUint64(key[16:], uint64(index))
	binary.LittleEndian.PutUint64(key[24:], uint64(chunk))
	_, _ = rand.NewChaCha8(key).Read(buf)
}
