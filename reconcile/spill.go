package reconcile

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
)

// The audits match every record (or LMS row) against every row of a report
// that may list 10^8 objects. Reading the report once per chunk of records
// would read it hundreds of times at that size, so they join the two as a
// grace hash join: the report is streamed once, each row's compact form
// written to one of P partition files by its key's hash; what trashd holds
// is written to P files likewise; then each partition is joined in memory.
// When everything trashd holds fits in one partition, nothing is written:
// the report is matched as it streams.

// DefaultJoinPartition is how many of trashd's entries (a record's places,
// an LMS row's keys) an audit holds in memory at once: about 100 bytes each
// in the partition's map, some 50 MB.
const DefaultJoinPartition = 1 << 19

// maxJoinPartitions bounds the files a join keeps open, and their write
// buffers (2 files of joinBuffer each per partition, 32 MB in all): 1,024
// partitions of DefaultJoinPartition hold 5*10^8 entries; more make each
// partition larger.
const maxJoinPartitions = 1024

// joinBuffer is each partition file's write buffer.
const joinBuffer = 16 << 10

// joinKey is where an entry is: a bucket (by its index in the audit's
// table) and a key's hash.
type joinKey struct {
	bucket uint32
	key    keyHash
}

// joinEntry is one side's compact form: a record's place, an LMS row's key,
// or a report row. Class and Name are kept only where they must be counted
// or printed (a source bucket's rows, for the strays).
type joinEntry struct {
	at    joinKey
	seq   int64 // the record's or LMS row's place in id order; a report row's place in its report
	size  int64
	etag  etagHash
	when  int64 // a report row's LastModified, Unix nanoseconds
	flags uint8
	class string
	name  string
}

const joinEntryFixed = 4 + 16 + 8 + 8 + 8 + 8 + 1

func (e joinEntry) encode(w *bufio.Writer, buf []byte) error {
	b := buf[:joinEntryFixed]
	binary.LittleEndian.PutUint32(b[0:], e.at.bucket)
	copy(b[4:20], e.at.key[:])
	binary.LittleEndian.PutUint64(b[20:], uint64(e.seq))
	binary.LittleEndian.PutUint64(b[28:], uint64(e.size))
	copy(b[36:44], e.etag[:])
	binary.LittleEndian.PutUint64(b[44:], uint64(e.when))
	b[52] = e.flags
	b = binary.AppendUvarint(b, uint64(len(e.class)))
	b = append(b, e.class...)
	b = binary.AppendUvarint(b, uint64(len(e.name)))
	_, err := w.Write(b)
	if err == nil {
		_, err = w.WriteString(e.name)
	}
	return err
}

func decodeJoinEntry(r *bufio.Reader, buf []byte) (joinEntry, error) {
	var e joinEntry
	b := buf[:joinEntryFixed]
	if _, err := io.ReadFull(r, b); err != nil {
		return e, err // io.EOF at the end
	}
	e.at.bucket = binary.LittleEndian.Uint32(b[0:])
	copy(e.at.key[:], b[4:20])
	e.seq = int64(binary.LittleEndian.Uint64(b[20:]))
	e.size = int64(binary.LittleEndian.Uint64(b[28:]))
	copy(e.etag[:], b[36:44])
	e.when = int64(binary.LittleEndian.Uint64(b[44:]))
	e.flags = b[52]
	for _, s := range []*string{&e.class, &e.name} {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return e, noEOF(err)
		}
		if n > 0 {
			p := make([]byte, n)
			if _, err := io.ReadFull(r, p); err != nil {
				return e, noEOF(err)
			}
			*s = string(p)
		}
	}
	return e, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// spillDir is a temporary directory for one audit's files, made on first
// use and removed, with everything in it, by Close.
type spillDir struct {
	path  string
	files []*os.File
}

func (d *spillDir) create(name string) (*os.File, error) {
	if d.path == "" {
		p, err := os.MkdirTemp("", "trashd-audit-")
		if err != nil {
			return nil, fmt.Errorf("make a directory for the audit's partitions (TMPDIR): %w", err)
		}
		d.path = p
	}
	f, err := os.Create(filepath.Join(d.path, name))
	if err != nil {
		return nil, fmt.Errorf("make the audit's partition file: %w", err)
	}
	d.files = append(d.files, f)
	return f, nil
}

func (d *spillDir) Close() error {
	for _, f := range d.files {
		f.Close() // a file closed already says so; nothing to do
	}
	if d.path == "" {
		return nil
	}
	return os.RemoveAll(d.path)
}

// spillFile is one file written once, then read from the start.
type spillFile struct {
	f *os.File
	w *bufio.Writer
}

func (d *spillDir) newFile(name string, buffer int) (*spillFile, error) {
	f, err := d.create(name)
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, buffer)}, nil
}

// reader flushes what was written and reads it from the start.
func (s *spillFile) reader() (*bufio.Reader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("write the audit's partition file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 64<<10), nil
}

// ordered holds what an audit reads in id order (records, LMS rows), to be
// walked again in that order after the join: in memory up to limit, then
// in a file.
type ordered[T any] struct {
	dir   *spillDir
	limit int
	held  []T
	file  *spillFile
	enc   *gob.Encoder
	n     int64
}

func (o *ordered[T]) add(v T) error {
	o.n++
	if o.file == nil && len(o.held) < o.limit {
		o.held = append(o.held, v)
		return nil
	}
	if o.file == nil {
		f, err := o.dir.newFile("ordered", 64<<10)
		if err != nil {
			return err
		}
		o.file, o.enc = f, gob.NewEncoder(f.w)
		for _, h := range o.held {
			if err := o.enc.Encode(h); err != nil {
				return fmt.Errorf("write the audit's file: %w", err)
			}
		}
		o.held = nil
	}
	if err := o.enc.Encode(v); err != nil {
		return fmt.Errorf("write the audit's file: %w", err)
	}
	return nil
}

// each calls fn with each item and its place, in the order they were added.
func (o *ordered[T]) each(fn func(seq int64, v T) error) error {
	if o.file == nil {
		for i, v := range o.held {
			if err := fn(int64(i), v); err != nil {
				return err
			}
		}
		return nil
	}
	r, err := o.file.reader()
	if err != nil {
		return err
	}
	dec := gob.NewDecoder(r)
	for i := int64(0); ; i++ {
		var v T
		switch err := dec.Decode(&v); {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("read the audit's file: %w", err)
		}
		if err := fn(i, v); err != nil {
			return err
		}
	}
}

// hashJoin matches report rows (the probe side) with what trashd holds (the
// build side) by bucket and key hash. All the build side is added first;
// then the report rows, each report streamed once; then finish matches
// what remains. match sees every probe entry, with the build entries at its
// place (none for a row nothing names), once.
type hashJoin struct {
	dir   *spillDir
	parts int
	match func(probe joinEntry, builds []joinEntry) error
	held  map[joinKey][]joinEntry // parts == 1: the build side
	build []*spillFile
	probe []*spillFile
	buf   []byte
}

// newHashJoin makes a join for entries build entries, partitioned so that
// each partition holds about partSize of them.
func newHashJoin(dir *spillDir, entries int64, partSize int, match func(joinEntry, []joinEntry) error) (*hashJoin, error) {
	partSize = max(partSize, 1)
	parts := 1
	if entries > int64(partSize) {
		need := (entries + int64(partSize) - 1) / int64(partSize)
		parts = min(1<<bits.Len64(uint64(need-1)), maxJoinPartitions)
	}
	j := &hashJoin{dir: dir, parts: parts, match: match, buf: make([]byte, joinEntryFixed, 256)}
	if parts == 1 {
		j.held = map[joinKey][]joinEntry{}
		return j, nil
	}
	for p := range parts {
		b, err := dir.newFile(fmt.Sprintf("build-%d", p), joinBuffer)
		if err != nil {
			return nil, err
		}
		q, err := dir.newFile(fmt.Sprintf("probe-%d", p), joinBuffer)
		if err != nil {
			return nil, err
		}
		j.build, j.probe = append(j.build, b), append(j.probe, q)
	}
	return j, nil
}

func (j *hashJoin) partition(k joinKey) int {
	return int(binary.LittleEndian.Uint32(k.key[:4]) % uint32(j.parts))
}

func (j *hashJoin) addBuild(e joinEntry) error {
	if j.held != nil {
		j.held[e.at] = append(j.held[e.at], e)
		return nil
	}
	if err := e.encode(j.build[j.partition(e.at)].w, j.buf); err != nil {
		return fmt.Errorf("write the audit's partition file: %w", err)
	}
	return nil
}

// addProbe matches e at once when the build side is in memory, and writes
// it to its partition otherwise.
func (j *hashJoin) addProbe(e joinEntry) error {
	if j.held != nil {
		return j.match(e, j.held[e.at])
	}
	if err := e.encode(j.probe[j.partition(e.at)].w, j.buf); err != nil {
		return fmt.Errorf("write the audit's partition file: %w", err)
	}
	return nil
}

// finish joins the partitions written, one at a time.
func (j *hashJoin) finish() error {
	for p := range j.build {
		held := map[joinKey][]joinEntry{}
		r, err := j.build[p].reader()
		if err != nil {
			return err
		}
		for {
			e, err := decodeJoinEntry(r, j.buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read the audit's partition file: %w", err)
			}
			held[e.at] = append(held[e.at], e)
		}
		if r, err = j.probe[p].reader(); err != nil {
			return err
		}
		for {
			e, err := decodeJoinEntry(r, j.buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read the audit's partition file: %w", err)
			}
			if err := j.match(e, held[e.at]); err != nil {
				return err
			}
		}
		// The partition is done: its space goes back now, not at the end.
		j.build[p].f.Close()
		j.probe[p].f.Close()
		os.Remove(j.build[p].f.Name())
		os.Remove(j.probe[p].f.Name())
	}
	return nil
}

// bitset is a bit per record or row, by its place in id order.
type bitset []uint64

func (b *bitset) set(i int64) {
	for int64(len(*b))*64 <= i {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i int64) bool {
	return i/64 < int64(len(b)) && b[i/64]&(1<<(i%64)) != 0
}
