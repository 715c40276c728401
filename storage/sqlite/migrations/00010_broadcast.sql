-- +goose Up
-- A broadcast is a job: reminders to CDTOs, the digest to subscribers or an
-- admin's announcement. Its recipients and each one's rendered message are
-- written with it in one transaction, before the first message goes out, so
-- that a restart resumes with exactly the recipients still pending.

CREATE TABLE broadcasts (
	id             INTEGER PRIMARY KEY,
	kind           TEXT NOT NULL CHECK (kind IN ('reminder', 'digest', 'announcement')),
	-- "digest:2026-W47": the slot (or announcement) the job is for. The same
	-- slot never makes a second job, whichever process fires it.
	idem_key       TEXT NOT NULL UNIQUE,
	status         TEXT NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'done')),
	-- An announcement sent with --now goes out during quiet hours too.
	override_quiet INTEGER NOT NULL DEFAULT 0,
	created_by     TEXT NOT NULL,
	created_at     DATETIME NOT NULL,
	started_at     DATETIME,
	finished_at    DATETIME,
	total          INTEGER NOT NULL DEFAULT 0,
	-- The process sending the job holds a lease it renews as it goes; a
	-- lease left behind by a crashed process expires and another (or the
	-- restarted one) takes the job over.
	owner          TEXT NOT NULL DEFAULT '',
	lease_until    DATETIME
);

CREATE INDEX broadcasts_unfinished ON broadcasts (id) WHERE status <> 'done';

CREATE TABLE broadcast_recipients (
	id          INTEGER PRIMARY KEY,
	job_id      INTEGER NOT NULL REFERENCES broadcasts (id),
	user_id     INTEGER NOT NULL REFERENCES users (id),
	-- The chat the message goes to: a private chat's id is the user's.
	platform    TEXT NOT NULL,
	platform_id TEXT NOT NULL,
	-- The message as rendered when the job was made (Telegram HTML subset),
	-- and its buttons as JSON ('' for none).
	text        TEXT NOT NULL,
	buttons     TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'blocked')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	sent_at     DATETIME,
	UNIQUE (job_id, user_id)
);

-- Serves both the pending recipients in id order and the progress counts.
CREATE INDEX broadcast_recipients_job_state ON broadcast_recipients (job_id, state);

-- +goose Down
DROP TABLE broadcast_recipients;
DROP TABLE broadcasts;
