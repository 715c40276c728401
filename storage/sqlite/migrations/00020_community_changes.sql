-- +goose Up
-- A counter that every change to the communities moves, in whichever
-- process it is made: a process keeps the communities in memory for search
-- and reads this one row to know when to load them again.

CREATE TABLE community_changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO community_changes (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER communities_inserted AFTER INSERT ON communities
BEGIN
	UPDATE community_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_updated AFTER UPDATE ON communities
BEGIN
	UPDATE community_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_deleted AFTER DELETE ON communities
BEGIN
	UPDATE community_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER communities_deleted;
DROP TRIGGER communities_updated;
DROP TRIGGER communities_inserted;
DROP TABLE community_changes;
