package site

import (
	"container/list"
	"io"
	"runtime"
	"sync"

	"golang.org/x/sync/singleflight"
)

// blockSize is the unit answers are kept in: small, so that a community
// page (about 5 KB compressed) wastes little of its last block; the blocks
// of an answer mostly follow each other and are written as one.
const blockSize = 256

// responses keeps the answers of one data version, compressed, in memory
// outside the Go heap, the least recently used dropped when the blocks
// run out. Outside, because the collector lets the heap grow to three
// times what is live (GOGC=200): the 8 MiB that hold every community page
// of the country would have the bot keep some 24 MiB for them. Only the
// blocks written become resident.
type responses struct {
	mu      sync.Mutex
	version int64
	mem     []byte
	blocks  int     // how many blocks mem has
	free    []int32 // the blocks no answer holds
	lru     *list.List
	byKey   map[string]*list.Element
	flight  singleflight.Group
}

// kept is an answer stored in blocks of responses.mem. Its blocks return
// to the free list once it is dropped and no request is still sending it.
type kept struct {
	answer  // without gz
	key     string
	size    int
	blocks  []int32
	refs    int // requests sending it
	dropped bool
}

func newResponses(bytes int) (*responses, error) {
	n := max(bytes/blockSize, 1)
	mem, err := mapMemory(n * blockSize)
	if err != nil {
		return nil, err
	}
	c := &responses{mem: mem, blocks: n, free: make([]int32, n), lru: list.New(), byKey: map[string]*list.Element{}}
	// A site dropped (the tests make many) gives its memory back.
	runtime.AddCleanup(c, unmapMemory, mem)
	for i := range c.free {
		// Popped from the end: the low blocks first, so that the pages
		// touched are few while little is kept.
		c.free[i] = int32(n - 1 - i)
	}
	return c, nil
}

// get returns the answer kept under key for the version, to be released
// once sent.
func (c *responses) get(version int64, key string) (*kept, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return nil, false
	}
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	k := el.Value.(*kept)
	k.refs++
	return k, true
}

func (c *responses) release(k *kept) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k.refs--
	c.freeIfUnused(k)
}

// put keeps a copy of a under key for the version. An answer of a newer
// version drops every older one.
func (c *responses) put(version int64, key string, a *answer) {
	need := (len(a.gz) + blockSize - 1) / blockSize
	if need > c.blocks/4 {
		return // one answer never takes most of the room
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version < c.version {
		return
	}
	if version > c.version {
		c.version = version
		for c.lru.Len() > 0 {
			c.drop(c.lru.Back())
		}
	}
	if el, ok := c.byKey[key]; ok {
		c.drop(el)
	}
	for len(c.free) < need && c.lru.Len() > 0 {
		c.drop(c.lru.Back())
	}
	if len(c.free) < need {
		return // the rest is being sent
	}
	k := &kept{answer: *a, key: key, size: len(a.gz), blocks: make([]int32, need)}
	k.gz = nil
	// The free list is a stack; blocks freed together were pushed in
	// descending order, so they are popped ascending, one run.
	for i := range k.blocks {
		k.blocks[i] = c.free[len(c.free)-1-i]
	}
	c.free = c.free[:len(c.free)-need]
	for i, b := range k.blocks {
		copy(c.mem[int(b)*blockSize:int(b+1)*blockSize], a.gz[i*blockSize:])
	}
	c.byKey[key] = c.lru.PushFront(k)
}

// drop forgets an answer; its blocks are freed once nobody sends it.
func (c *responses) drop(el *list.Element) {
	k := c.lru.Remove(el).(*kept)
	delete(c.byKey, k.key)
	k.dropped = true
	c.freeIfUnused(k)
}

func (c *responses) freeIfUnused(k *kept) {
	if k.dropped && k.refs == 0 && k.blocks != nil {
		for i := len(k.blocks) - 1; i >= 0; i-- {
			c.free = append(c.free, k.blocks[i])
		}
		k.blocks = nil
	}
}

// reader reads the kept answer's compressed body out of mem. It is valid
// until the answer is released.
func (k *kept) reader(mem []byte) io.Reader {
	return &blockReader{mem: mem, blocks: k.blocks, left: k.size}
}

// blockReader reads a kept body; WriteTo hands each run of consecutive
// blocks to the writer as it is, with no copy.
type blockReader struct {
	mem    []byte
	blocks []int32
	off    int // into the first block
	left   int
}

// next is the rest of the body up to the first gap between blocks.
func (br *blockReader) next() []byte {
	if br.left == 0 {
		return nil
	}
	run := 1
	for run < len(br.blocks) && br.blocks[run] == br.blocks[run-1]+1 {
		run++
	}
	start := int(br.blocks[0])*blockSize + br.off
	return br.mem[start : start+min(run*blockSize-br.off, br.left)]
}

func (br *blockReader) advance(n int) {
	br.left -= n
	br.off += n
	skip := br.off / blockSize
	br.blocks, br.off = br.blocks[skip:], br.off%blockSize
}

func (br *blockReader) Read(p []byte) (int, error) {
	chunk := br.next()
	if chunk == nil {
		return 0, io.EOF
	}
	n := copy(p, chunk)
	br.advance(n)
	return n, nil
}

func (br *blockReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for chunk := br.next(); chunk != nil; chunk = br.next() {
		n, err := w.Write(chunk)
		total += int64(n)
		br.advance(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
