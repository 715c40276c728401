package hromadabot

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kinds of stored file.
const (
	// FileEvidence is a photo or document a CDTO sent as a report's
	// evidence, kept for good: the platform's own copy may expire.
	FileEvidence = "evidence"
	// FilePicture is a picture the bot made (a score card) and serves to a
	// platform that fetches pictures by URL; it can be drawn again, so it
	// is kept for a while only.
	FilePicture = "picture"
)

// MaxFileSize is the largest file the bot keeps: a photo or a scanned
// document, not a video.
const MaxFileSize = 20 << 20

// File is a file the bot keeps. Its ID is the hex SHA-256 of its bytes: the
// same file is kept once, and the ID cannot be guessed without the bytes.
type File struct {
	ID          string    `json:"id" db:"id"`
	Kind        string    `json:"kind" db:"kind"`
	Name        string    `json:"name" db:"name"`
	ContentType string    `json:"content_type" db:"content_type"`
	Data        []byte    `json:"-" db:"data"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
}

// FileID is the ID of a file with these bytes.
func FileID(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Validate checks a file before it is stored.
func (f *File) Validate() error {
	switch {
	case f.Kind != FileEvidence && f.Kind != FilePicture:
		return FieldErrorf("kind", "file_kind_invalid", "file kind %q is not %s or %s", f.Kind, FileEvidence, FilePicture)
	case len(f.Data) == 0:
		return FieldErrorf("data", "file_empty", "the file is empty")
	case len(f.Data) > MaxFileSize:
		return FieldErrorf("data", "file_too_large", "the file is %d bytes, over the %d bytes kept", len(f.Data), MaxFileSize)
	case f.ID != FileID(f.Data):
		return FieldErrorf("id", "file_id_mismatch", "file id %q is not the SHA-256 of its bytes", f.ID)
	}
	return nil
}
