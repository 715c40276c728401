-- +goose Up
-- A counter that every change to what a user is moves (language, role,
-- community, subscription, blocked, or the user deleted), in whichever
-- process it is made: a process keeps the people it talks to in memory and
-- reads this row, with catalog_changes, once per event to know whether they
-- are still current. Recording a contact (last_seen_at) does not move it.

CREATE TABLE user_changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO user_changes (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER users_updated AFTER UPDATE OF language, role, community_id, subscribed, blocked, platform, platform_id ON users
BEGIN
	UPDATE user_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN
	UPDATE user_changes SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_deleted;
DROP TRIGGER users_updated;
DROP TABLE user_changes;
