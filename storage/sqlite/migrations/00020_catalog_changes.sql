-- +goose Up
-- A counter that every change to the communities and to their own targets
-- moves, in whichever process it is made: a process keeps both in memory
-- and reads this one row to know when to load them again.

CREATE TABLE catalog_changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO catalog_changes (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER communities_inserted AFTER INSERT ON communities
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_updated AFTER UPDATE ON communities
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_deleted AFTER DELETE ON communities
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER community_targets_inserted AFTER INSERT ON community_targets
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER community_targets_updated AFTER UPDATE ON community_targets
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER community_targets_deleted AFTER DELETE ON community_targets
BEGIN
	UPDATE catalog_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER community_targets_deleted;
DROP TRIGGER community_targets_updated;
DROP TRIGGER community_targets_inserted;
DROP TRIGGER communities_deleted;
DROP TRIGGER communities_updated;
DROP TRIGGER communities_inserted;
DROP TABLE catalog_changes;
