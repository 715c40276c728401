-- +goose Up
-- A counter that every change to the communities and to their own targets
-- moves, in whichever process it is made: a process keeps both in memory
-- and reads this one row to know when to load them again.
--
-- The triggers are per statement, not per row as in SQLite: a reader only
-- needs to see that the counter moved, not by how much, and a bulk import
-- then bumps it once instead of once per row. A statement that changes no
-- row (an UPDATE or DELETE matching nothing) still fires them; that costs
-- a needless reload, never a missed one. TRUNCATE, which SQLite lacks and
-- which fires no row or DELETE trigger, moves it too. The counter row is
-- locked until the changing transaction ends, so catalog writers queue on
-- it, as SQLite's single writer does anyway.

CREATE TABLE catalog_changes (
	id BIGINT PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO catalog_changes (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION bump_catalog_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
	RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER communities_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON communities
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_changes();

CREATE TRIGGER community_targets_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON community_targets
FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_changes();

-- +goose Down
DROP TRIGGER community_targets_changed ON community_targets;
DROP TRIGGER communities_changed ON communities;
DROP FUNCTION bump_catalog_changes();
DROP TABLE catalog_changes;
