-- +goose Up
-- A community's history of values, read by its page on the public site,
-- from the index alone (an index-only scan): the reports of one community
-- lie spread over the whole table (they arrive week by week among
-- everyone's), and reading 3,600 of them row by row touches as many pages.
-- It also orders a community's latest reports (created_at, then id: id is
-- a key here because, unlike SQLite's rowid, it is not in every index).
-- indicator_id and value only ride along, in INCLUDE. retracted_at needs
-- no column: PostgreSQL proves the partial index's condition from the
-- query's. Index-only scans lean on the visibility map, which
-- (auto)vacuum keeps current.
CREATE INDEX reports_community_history ON reports (community_id, created_at, id)
INCLUDE (indicator_id, value)
WHERE retracted_at IS NULL;

-- +goose Down
DROP INDEX reports_community_history;
