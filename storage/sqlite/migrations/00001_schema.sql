-- +goose Up
-- Times are UTC text in one fixed layout ("2006-01-02T15:04:05.000Z"), so
-- that text order is time order and indexes on them serve range queries.

CREATE TABLE communities (
	id          INTEGER PRIMARY KEY,
	-- NULL for a community added by hand; the registry's KATOTTG code otherwise.
	katottg     TEXT UNIQUE,
	name        TEXT NOT NULL,
	type        TEXT NOT NULL DEFAULT '',
	full_name   TEXT NOT NULL DEFAULT '',
	oblast      TEXT NOT NULL DEFAULT '',
	raion       TEXT NOT NULL DEFAULT '',
	center      TEXT NOT NULL DEFAULT '',
	population  INTEGER NOT NULL DEFAULT 0 CHECK (population >= 0),
	-- ASCII transliteration of name, centre, oblast and raion (hromadabot.SearchKey),
	-- matched with LIKE because SQLite's LIKE folds case for ASCII only.
	search_key  TEXT NOT NULL,
	created_at  DATETIME NOT NULL
);

-- Not UNIQUE: the national registry itself has a few same-named communities
-- in one oblast (they differ by raion). CreateCommunity checks the pair.
CREATE INDEX communities_name_oblast ON communities (name, oblast);

CREATE TABLE indicators (
	id             INTEGER PRIMARY KEY,
	position       INTEGER NOT NULL,
	short_uk       TEXT NOT NULL,
	short_en       TEXT NOT NULL DEFAULT '',
	title_uk       TEXT NOT NULL,
	title_en       TEXT NOT NULL DEFAULT '',
	description_uk TEXT NOT NULL DEFAULT '',
	description_en TEXT NOT NULL DEFAULT '',
	unit           TEXT NOT NULL CHECK (unit IN ('percent', 'yesno')),
	baseline       REAL NOT NULL DEFAULT 0,
	weight         REAL NOT NULL DEFAULT 1
);

-- The default plan's yearly targets; a year without a row is the plan's "-".
CREATE TABLE indicator_targets (
	indicator_id INTEGER NOT NULL REFERENCES indicators (id),
	year         INTEGER NOT NULL,
	value        REAL NOT NULL,
	PRIMARY KEY (indicator_id, year)
) WITHOUT ROWID;

-- A community's own targets. When an indicator has rows here they replace
-- the default targets of that indicator as a whole; no rows = the default.
CREATE TABLE community_targets (
	community_id INTEGER NOT NULL REFERENCES communities (id),
	indicator_id INTEGER NOT NULL REFERENCES indicators (id),
	year         INTEGER NOT NULL,
	value        REAL NOT NULL,
	PRIMARY KEY (community_id, indicator_id, year)
) WITHOUT ROWID;

CREATE TABLE users (
	id           INTEGER PRIMARY KEY,
	platform     TEXT NOT NULL,
	platform_id  TEXT NOT NULL,
	language     TEXT NOT NULL,
	role         TEXT NOT NULL CHECK (role IN ('resident', 'cdto')),
	community_id INTEGER REFERENCES communities (id),
	subscribed   INTEGER NOT NULL DEFAULT 0,
	blocked      INTEGER NOT NULL DEFAULT 0,
	created_at   DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL,
	UNIQUE (platform, platform_id)
);

CREATE INDEX users_community_role ON users (community_id, role);
CREATE INDEX users_role ON users (role);
CREATE INDEX users_subscribed ON users (subscribed) WHERE subscribed = 1;

-- Append-only: a report is never updated except to mark it retracted.
CREATE TABLE reports (
	id           INTEGER PRIMARY KEY,
	community_id INTEGER NOT NULL REFERENCES communities (id),
	indicator_id INTEGER NOT NULL REFERENCES indicators (id),
	value        REAL NOT NULL,
	comment      TEXT NOT NULL DEFAULT '',
	evidence     TEXT NOT NULL DEFAULT '',
	-- NULL for the CLI and imports.
	reporter_id  INTEGER REFERENCES users (id),
	source       TEXT NOT NULL,
	created_at   DATETIME NOT NULL,
	dedup_key    TEXT NOT NULL DEFAULT '',
	retracted_at DATETIME
);

CREATE INDEX reports_community_indicator_created ON reports (community_id, indicator_id, created_at);
CREATE INDEX reports_reporter_created ON reports (reporter_id, created_at);
CREATE INDEX reports_created ON reports (created_at);
CREATE UNIQUE INDEX reports_dedup_key ON reports (dedup_key) WHERE dedup_key <> '';

-- The latest non-retracted report per community and indicator, kept in the
-- same transaction as every insert and retraction, so that scores and the
-- ranking never scan the report history.
CREATE TABLE current_values (
	community_id INTEGER NOT NULL REFERENCES communities (id),
	indicator_id INTEGER NOT NULL REFERENCES indicators (id),
	report_id    INTEGER NOT NULL REFERENCES reports (id),
	value        REAL NOT NULL,
	updated_at   DATETIME NOT NULL,
	PRIMARY KEY (community_id, indicator_id)
) WITHOUT ROWID;

CREATE TABLE invites (
	id           INTEGER PRIMARY KEY,
	code_hash    TEXT NOT NULL UNIQUE,
	community_id INTEGER NOT NULL REFERENCES communities (id),
	created_by   TEXT NOT NULL,
	created_at   DATETIME NOT NULL,
	expires_at   DATETIME NOT NULL,
	used_at      DATETIME,
	used_by      INTEGER REFERENCES users (id)
);

CREATE TABLE audit (
	id        INTEGER PRIMARY KEY,
	at        DATETIME NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	entity    TEXT NOT NULL,
	entity_id TEXT NOT NULL DEFAULT '',
	old_value TEXT NOT NULL DEFAULT '',
	new_value TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE audit;
DROP TABLE invites;
DROP TABLE current_values;
DROP TABLE reports;
DROP TABLE users;
DROP TABLE community_targets;
DROP TABLE indicator_targets;
DROP TABLE indicators;
DROP TABLE communities;
