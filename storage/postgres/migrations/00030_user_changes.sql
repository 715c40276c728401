-- +goose Up
-- A counter that every change to what a user is moves (language, role,
-- community, subscription, blocked, or the user deleted), in whichever
-- process it is made: a process keeps the people it talks to in memory and
-- reads this row, with catalog_changes, once per event to know whether they
-- are still current. Recording a contact (last_seen_at) does not move it:
-- an UPDATE that sets only last_seen_at does not fire UPDATE OF.
--
-- Per statement, as catalog_changes (see there): an UPDATE naming one of
-- the columns fires it even when it matches no row or changes no value,
-- which only causes a needless reload.

CREATE TABLE user_changes (
	id BIGINT PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO user_changes (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION bump_user_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE user_changes SET n = n + 1 WHERE id = 1;
	RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER users_updated
AFTER UPDATE OF language, role, community_id, subscribed, blocked, platform, platform_id ON users
FOR EACH STATEMENT EXECUTE FUNCTION bump_user_changes();

CREATE TRIGGER users_deleted
AFTER DELETE OR TRUNCATE ON users
FOR EACH STATEMENT EXECUTE FUNCTION bump_user_changes();

-- +goose Down
DROP TRIGGER users_deleted ON users;
DROP TRIGGER users_updated ON users;
DROP FUNCTION bump_user_changes();
DROP TABLE user_changes;
