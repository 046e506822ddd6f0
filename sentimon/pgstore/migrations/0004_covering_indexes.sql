-- `stats` counts the partial first and last day of a period from the rows (whole days come
-- from the roll-ups): the mentions of that day by the time index, then their topics. With the
-- mention's id in the time index and the topic's sentiment in the topics' primary key, both
-- steps read indexes only (after VACUUM marks the pages all-visible), and the planner picks
-- index probes over a scan of every topic row: `stats` by topic over 7 days at 1,000,000
-- mentions went from p95 147-173 ms to 67 ms (bench/load_pg.py, docs/postgresql.md).
-- Building them locks writes for a few seconds per million mentions.

DROP INDEX idx_mentions_created;
CREATE INDEX idx_mentions_created ON mentions (created_at, sentiment, source) INCLUDE (id);

ALTER TABLE mention_topics DROP CONSTRAINT mention_topics_pkey;
ALTER TABLE mention_topics ADD CONSTRAINT mention_topics_pkey
    PRIMARY KEY (mention_id, topic) INCLUDE (sentiment);
