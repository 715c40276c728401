package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hromadabot/hromadabot"
)

const (
	// A file already kept keeps its bytes. Evidence outranks a picture:
	// the same bytes sent as evidence are kept for good; a picture kept
	// again counts from now, since a URL to it has just been handed out.
	sqlInsertFile = `
INSERT INTO files (id, kind, name, content_type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	kind = CASE WHEN excluded.kind = 'evidence' THEN 'evidence' ELSE files.kind END,
	created_at = CASE WHEN files.kind = 'picture' THEN excluded.created_at ELSE files.created_at END`

	sqlSelectFile = `SELECT id, kind, name, content_type, data, created_at FROM files WHERE id = ?`

	sqlDeletePictures = `DELETE FROM files WHERE kind = 'picture' AND created_at < ?`
)

// PutFile keeps f, whose ID must be the SHA-256 of its bytes; a file kept
// already is not written again. EINVALID for a file that fails Validate.
func (db *DB) PutFile(ctx context.Context, f *hromadabot.File) error {
	if err := f.Validate(); err != nil {
		return err
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sqlInsertFile, f.ID, f.Kind, f.Name, f.ContentType, f.Data, formatTime(tx.now)); err != nil {
		return fmt.Errorf("insert file: %w", err)
	}
	f.CreatedAt = tx.now
	return tx.commit()
}

// File returns the kept file with the given ID, or ENOTFOUND.
func (db *DB) File(ctx context.Context, id string) (*hromadabot.File, error) {
	var row struct {
		hromadabot.File
		CreatedAt string `db:"created_at"`
	}
	if err := db.read.GetContext(ctx, &row, sqlSelectFile, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, hromadabot.Errorf(hromadabot.ENOTFOUND, "file_not_found", "no file %q", id)
		}
		return nil, fmt.Errorf("select file: %w", err)
	}
	f := row.File
	var err error
	if f.CreatedAt, err = parseTime(row.CreatedAt); err != nil {
		return nil, fmt.Errorf("file %s: %w", id, err)
	}
	return &f, nil
}

// DeletePictures removes the pictures kept since before t (they are drawn
// again when needed) and returns how many; evidence is never removed.
func (db *DB) DeletePictures(ctx context.Context, before time.Time) (int64, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, sqlDeletePictures, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete pictures: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete pictures: %w", err)
	}
	return n, tx.commit()
}
