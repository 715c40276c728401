package site

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
)

func newTestResponses(t *testing.T, blocks int) *responses {
	t.Helper()
	c, err := newResponses(blocks * blockSize)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomBody(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// body reads a kept answer both ways a request does: Read (the caller
// takes no gzip) and WriteTo (it does).
func body(t *testing.T, c *responses, k *kept) []byte {
	t.Helper()
	read, err := io.ReadAll(struct{ io.Reader }{k.reader(c.mem)})
	if err != nil {
		t.Fatal(err)
	}
	var written bytes.Buffer
	if _, err := io.Copy(&written, k.reader(c.mem)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read, written.Bytes()) {
		t.Fatalf("Read gives %d bytes, WriteTo %d", len(read), written.Len())
	}
	return read
}

func TestResponsesKeepBodies(t *testing.T) {
	c := newTestResponses(t, 128)
	for i, n := range []int{0, 1, blockSize - 1, blockSize, blockSize + 1, 5203, 16 * blockSize} {
		key := strconv.Itoa(n)
		want := randomBody(n, uint64(i))
		c.put(1, key, &answer{gz: want, etag: `"` + key + `"`})
		k, ok := c.get(1, key)
		if !ok {
			t.Fatalf("%d bytes: not kept", n)
		}
		if got := body(t, c, k); !bytes.Equal(got, want) || k.etag != `"`+key+`"` {
			t.Errorf("%d bytes: read back %d bytes, equal %v, ETag %s", n, len(got), bytes.Equal(got, want), k.etag)
		}
		c.release(k)
	}
}

// TestResponsesRuns checks that an answer's blocks are one run when they
// can be, and that one kept in scattered blocks reads back whole.
func TestResponsesRuns(t *testing.T) {
	c := newTestResponses(t, 16)
	runs := func(k *kept) int {
		n := 1
		for i := 1; i < len(k.blocks); i++ {
			if k.blocks[i] != k.blocks[i-1]+1 {
				n++
			}
		}
		return n
	}
	for _, key := range []string{"a", "b", "c", "d"} {
		c.put(1, key, &answer{gz: randomBody(2*blockSize, 1)})
	}
	k, _ := c.get(1, "a")
	if runs(k) != 1 {
		t.Errorf("a fresh answer in blocks %v", k.blocks)
	}
	c.release(k)
	// a and c dropped: their blocks, apart, are the first taken.
	c.drop(c.byKey["a"])
	c.drop(c.byKey["c"])
	want := randomBody(4*blockSize, 3)
	c.put(1, "scattered", &answer{gz: want})
	k, ok := c.get(1, "scattered")
	if !ok {
		t.Fatal("not kept")
	}
	defer c.release(k)
	if runs(k) != 2 {
		t.Errorf("blocks %v: want the two runs a and c left", k.blocks)
	}
	if got := body(t, c, k); !bytes.Equal(got, want) {
		t.Error("a scattered answer reads back other than written")
	}
}

func TestResponsesDrop(t *testing.T) {
	three := randomBody(3*blockSize, 7) // three blocks
	for _, tc := range []struct {
		name string
		// run puts and gets on a store of 16 blocks, which holds five
		// answers of three blocks; it returns the keys that must be kept
		// and those that must not.
		run        func(c *responses) (kept, gone []string)
		freeBlocks int
	}{
		{"LeastRecentlyUsedFirst", func(c *responses) ([]string, []string) {
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				c.put(1, k, &answer{gz: three})
			}
			k, _ := c.get(1, "a")
			c.release(k)
			c.put(1, "f", &answer{gz: three})
			return []string{"a", "c", "d", "e", "f"}, []string{"b"}
		}, 1},
		{"SameKeyReplaced", func(c *responses) ([]string, []string) {
			c.put(1, "a", &answer{gz: three})
			c.put(1, "a", &answer{gz: three[:blockSize]})
			return []string{"a"}, nil
		}, 15},
		{"NewVersionDropsOlder", func(c *responses) ([]string, []string) {
			c.put(1, "a", &answer{gz: three})
			c.put(2, "b", &answer{gz: three})
			c.put(1, "c", &answer{gz: three}) // late: ignored
			return []string{"b"}, []string{"a", "c"}
		}, 13},
		{"TooBigNotKept", func(c *responses) ([]string, []string) {
			c.put(1, "big", &answer{gz: randomBody(4*blockSize+1, 1)})
			return nil, []string{"big"}
		}, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestResponses(t, 16)
			keep, gone := tc.run(c)
			version := c.version
			for _, key := range keep {
				k, ok := c.get(version, key)
				if !ok {
					t.Errorf("%s dropped", key)
					continue
				}
				c.release(k)
			}
			for _, key := range gone {
				if k, ok := c.get(version, key); ok {
					t.Errorf("%s kept", key)
					c.release(k)
				}
			}
			if len(c.free) != tc.freeBlocks {
				t.Errorf("%d blocks free, want %d", len(c.free), tc.freeBlocks)
			}
		})
	}
}

// TestResponsesBeingSent checks that an answer dropped while a request
// sends it keeps its blocks until that request is done.
func TestResponsesBeingSent(t *testing.T) {
	c := newTestResponses(t, 16)
	want := randomBody(3*blockSize, 3)
	c.put(1, "sent", &answer{gz: want})
	k, _ := c.get(1, "sent")
	c.put(2, "other", &answer{gz: randomBody(4*blockSize, 4)})
	for i := range 3 {
		c.put(2, "more"+strconv.Itoa(i), &answer{gz: randomBody(3*blockSize, uint64(5+i))})
	}
	if got := body(t, c, k); !bytes.Equal(got, want) {
		t.Fatal("the body being sent was overwritten")
	}
	if len(c.free) != 16-3-4-3*3 {
		t.Errorf("%d blocks free while one answer is sent, want %d", len(c.free), 16-3-4-3*3)
	}
	// Another answer takes room from those not being sent.
	c.put(2, "next", &answer{gz: randomBody(4*blockSize, 9)})
	if _, ok := c.get(2, "other"); ok {
		t.Error("the least recently used answer was not dropped for the next")
	}
	if got := body(t, c, k); !bytes.Equal(got, want) {
		t.Fatal("the body being sent was overwritten by the next answer")
	}
	c.release(k)
	if len(c.free) != 3 {
		t.Errorf("%d blocks free once sent, want 3", len(c.free))
	}
}
