package telegram

import (
	"crypto/sha256"
	"sync"
)

// maxPhotoIDs bounds the file_ids kept: a score card per community, year,
// language and score is a few thousand pictures, each entry under 200 bytes.
const maxPhotoIDs = 8192

// photoIDs remembers the file_id Telegram gave each uploaded picture, keyed
// by the picture's digest. When full, it forgets the oldest entries.
type photoIDs struct {
	mu    sync.Mutex
	ids   map[[sha256.Size]byte]string
	order [][sha256.Size]byte
}

func photoKey(png []byte) [sha256.Size]byte { return sha256.Sum256(png) }

func (p *photoIDs) get(key [sha256.Size]byte) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.ids[key]
	return id, ok
}

func (p *photoIDs) put(key [sha256.Size]byte, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = make(map[[sha256.Size]byte]string)
	}
	if _, ok := p.ids[key]; !ok {
		p.order = append(p.order, key)
	}
	p.ids[key] = id
	for len(p.order) > maxPhotoIDs {
		delete(p.ids, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *photoIDs) drop(key [sha256.Size]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ids, key)
}
