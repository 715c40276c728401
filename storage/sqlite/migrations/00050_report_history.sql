-- +goose Up
-- A community's history of values, read by its page on the public site,
-- from the index alone: the reports of one community lie spread over the
-- whole table (they arrive week by week among everyone's), and reading
-- 3,600 of them row by row touched as many pages. It also orders a
-- community's latest reports. retracted_at is a column too, though always
-- NULL here: else SQLite reads the table to check the condition.
CREATE INDEX reports_community_history ON reports (community_id, created_at, indicator_id, value, retracted_at)
WHERE retracted_at IS NULL;

-- +goose Down
DROP INDEX reports_community_history;
