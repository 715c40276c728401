package recordtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func newFile(kind string, data []byte) *hromadabot.File {
	return &hromadabot.File{ID: hromadabot.FileID(data), Kind: kind, Name: "photo.jpg", ContentType: "image/jpeg", Data: data}
}

func testFiles(t *testing.T, e Engine) {
	ctx := context.Background()
	t.Run("OKKeptAndRead", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		f := newFile(hromadabot.FileEvidence, []byte("jpeg bytes"))
		if err := db.PutFile(ctx, f); err != nil {
			t.Fatal(err)
		}
		got, err := db.File(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, f.Data) || got.Kind != f.Kind || got.Name != f.Name || got.ContentType != f.ContentType || !got.CreatedAt.Equal(clock.Now()) {
			t.Errorf("read %+v, want %+v", got, f)
		}
	})
	t.Run("OKSameBytesKeptOnceEvidenceWins", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		data := []byte("card png")
		if err := db.PutFile(ctx, newFile(hromadabot.FilePicture, data)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutFile(ctx, newFile(hromadabot.FileEvidence, data)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutFile(ctx, newFile(hromadabot.FilePicture, data)); err != nil {
			t.Fatal(err)
		}
		clock.Add(48 * time.Hour)
		if n, err := db.DeletePictures(ctx, clock.Now()); err != nil || n != 0 {
			t.Fatalf("deleted %d (%v): the bytes were sent as evidence too", n, err)
		}
		if got, err := db.File(ctx, hromadabot.FileID(data)); err != nil || got.Kind != hromadabot.FileEvidence {
			t.Fatalf("file %+v (%v), want evidence", got, err)
		}
	})
	t.Run("OKOldPicturesDeleted", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		old := newFile(hromadabot.FilePicture, []byte("old card"))
		evidence := newFile(hromadabot.FileEvidence, []byte("old evidence"))
		for _, f := range []*hromadabot.File{old, evidence} {
			if err := db.PutFile(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		clock.Add(time.Hour)
		fresh := newFile(hromadabot.FilePicture, []byte("new card"))
		if err := db.PutFile(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeletePictures(ctx, clock.Now().Add(-time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d (%v), want the old picture", n, err)
		}
		_, err = db.File(ctx, old.ID)
		AssertError(t, err, hromadabot.ENOTFOUND, "file_not_found")
		for _, f := range []*hromadabot.File{evidence, fresh} {
			if _, err := db.File(ctx, f.ID); err != nil {
				t.Errorf("%s: %v", f.Name, err)
			}
		}
	})
	t.Run("OKPictureKeptAgainCountsFromNow", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		card := newFile(hromadabot.FilePicture, []byte("card kept twice"))
		if err := db.PutFile(ctx, card); err != nil {
			t.Fatal(err)
		}
		clock.Add(6 * 24 * time.Hour)
		if err := db.PutFile(ctx, card); err != nil {
			t.Fatal(err)
		}
		if n, err := db.DeletePictures(ctx, clock.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("deleted %d (%v): the picture was kept again just now", n, err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		tests := []struct {
			name   string
			f      *hromadabot.File
			reason string
		}{
			{"Kind", newFile("video", []byte("x")), "file_kind_invalid"},
			{"Empty", &hromadabot.File{ID: hromadabot.FileID(nil), Kind: hromadabot.FileEvidence}, "file_empty"},
			{"TooLarge", newFile(hromadabot.FileEvidence, make([]byte, hromadabot.MaxFileSize+1)), "file_too_large"},
			{"IDMismatch", &hromadabot.File{ID: hromadabot.FileID([]byte("a")), Kind: hromadabot.FileEvidence, Data: []byte("b")}, "file_id_mismatch"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				AssertError(t, db.PutFile(ctx, tt.f), hromadabot.EINVALID, tt.reason)
				if _, err := db.File(ctx, tt.f.ID); hromadabot.ErrorCode(err) != hromadabot.ENOTFOUND {
					t.Errorf("a refused file was stored (%v)", err)
				}
			})
		}
	})
}
