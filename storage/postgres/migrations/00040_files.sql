-- +goose Up
-- Files the bot keeps: evidence a CDTO sent on a platform whose own copy
-- expires (Viber's media URLs), and pictures it serves by URL. The id is
-- the SHA-256 of the bytes, so a file sent twice is kept once.
CREATE TABLE files (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL CHECK (kind IN ('evidence', 'picture')),
	name         TEXT NOT NULL DEFAULT '',
	content_type TEXT NOT NULL,
	data         BYTEA NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX files_kind_created ON files (kind, created_at);

-- +goose Down
DROP TABLE files;
