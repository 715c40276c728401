package telegram

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
)

// maxPhotoIDs bounds the file_ids kept: a score card per community, year,
// language and score is a few thousand pictures, each entry under 200 bytes.
const maxPhotoIDs = 8192

// photoIDs remembers the file_id Telegram gave each uploaded picture, keyed
// by the picture's digest. When full, it forgets the oldest entries.
type photoIDs struct {
	mu    sync.Mutex
	ids   map[string]string
	order []string
}

// photoKey is the image's own key, or else a digest of its PNG; the
// prefixes keep the two kinds apart.
func photoKey(key string, png func() ([]byte, error)) (string, error) {
	if key != "" {
		return "key:" + key, nil
	}
	b, err := png()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + string(sum[:]), nil
}

func (p *photoIDs) get(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.ids[key]
	return id, ok
}

func (p *photoIDs) put(key string, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = make(map[string]string)
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

func (p *photoIDs) drop(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ids, key)
}

// largestPhotoID reads the file_id of the largest size from a sent
// Message, "" when there is none; only that is decoded of the Message.
func largestPhotoID(message json.RawMessage) string {
	var m struct {
		Photo []struct {
			FileID string `json:"file_id"`
		} `json:"photo"`
	}
	if json.Unmarshal(message, &m) != nil || len(m.Photo) == 0 {
		return ""
	}
	return m.Photo[len(m.Photo)-1].FileID
}
