-- Per-UTC-day counts for `stats`, like SQLite's schema 0004: kept by triggers, so every
-- writer (ingest, corrections, retention, a person's SQL) keeps them exact. Sentiment ''
-- stands for NULL (unclassified) in the keys. n is INTEGER so SUM(n) reads back as an int.
--
-- Statement-level triggers with transition tables: one upsert per roll-up row a statement
-- touches instead of one per mention (1.5x faster in issue 18's measurement), and the rows
-- are locked in key order, so concurrent batches cannot deadlock on them.

CREATE TABLE daily_sentiment (
    day TEXT NOT NULL, source TEXT NOT NULL, sentiment TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, source, sentiment)
);
CREATE TABLE daily_topics (
    day TEXT NOT NULL, source TEXT NOT NULL, topic TEXT NOT NULL,
    topic_sentiment TEXT NOT NULL,    -- the topic's own sentiment in the mention
    mention_sentiment TEXT NOT NULL,  -- the whole mention's sentiment
    n INTEGER NOT NULL,
    PRIMARY KEY (day, topic, source, topic_sentiment, mention_sentiment)
);

-- Add signed deltas, one element per changed row; equal keys are summed first.
CREATE FUNCTION rollup_sentiment_add(days TEXT[], sources TEXT[], sentiments TEXT[], ns INTEGER[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO daily_sentiment AS d (day, source, sentiment, n)
    SELECT day, source, sentiment, sum(n)
    FROM unnest(days, sources, sentiments, ns) AS u(day, source, sentiment, n)
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, source, sentiment) DO UPDATE SET n = d.n + excluded.n
$$;

CREATE FUNCTION rollup_topics_add(
    days TEXT[], sources TEXT[], topics TEXT[], topic_sentiments TEXT[],
    mention_sentiments TEXT[], ns INTEGER[]
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO daily_topics AS d (day, source, topic, topic_sentiment, mention_sentiment, n)
    SELECT day, source, topic, ts, ms, sum(n)
    FROM unnest(days, sources, topics, topic_sentiments, mention_sentiments, ns)
        AS u(day, source, topic, ts, ms, n)
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 3, 2, 4, 5
    ON CONFLICT (day, topic, source, topic_sentiment, mention_sentiment)
    DO UPDATE SET n = d.n + excluded.n
$$;

CREATE FUNCTION rollup_mentions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_sentiment_add(array_agg(substr(created_at, 1, 10)), array_agg(source),
                                 array_agg(coalesce(sentiment, '')), array_agg(1))
    FROM new_mentions;  -- a new mention has no topics yet: its topics' own trigger counts them
    RETURN NULL;
END $$;

-- Only rows whose keys changed move; their topics move with them.
CREATE FUNCTION rollup_mentions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[]; days TEXT[]; sources TEXT[]; sentiments TEXT[]; ns INTEGER[];
BEGIN
    SELECT array_agg(o.id), array_agg(k.day), array_agg(k.source), array_agg(k.sentiment),
           array_agg(k.n)
    INTO ids, days, sources, sentiments, ns
    FROM old_mentions o JOIN new_mentions n ON n.id = o.id
    CROSS JOIN LATERAL (VALUES
        (substr(o.created_at, 1, 10), o.source, coalesce(o.sentiment, ''), -1),
        (substr(n.created_at, 1, 10), n.source, coalesce(n.sentiment, ''), 1)
    ) AS k(day, source, sentiment, n)
    WHERE (o.created_at, o.source, o.sentiment) IS DISTINCT FROM (n.created_at, n.source, n.sentiment);
    PERFORM rollup_sentiment_add(days, sources, sentiments, ns);
    PERFORM rollup_topics_add(array_agg(r.day), array_agg(r.source), array_agg(t.topic),
                              array_agg(t.sentiment), array_agg(r.sentiment), array_agg(r.n))
    FROM unnest(ids, days, sources, sentiments, ns) AS r(id, day, source, sentiment, n)
    JOIN mention_topics t ON t.mention_id = r.id;
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_mentions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_sentiment_add(array_agg(substr(created_at, 1, 10)), array_agg(source),
                                 array_agg(coalesce(sentiment, '')), array_agg(-1))
    FROM old_mentions;
    RETURN NULL;
END $$;

-- A deleted mention's topics go by ON DELETE CASCADE after the mention row is gone, when
-- their own trigger can no longer find the day, source and sentiment: this row-level trigger
-- subtracts them first (deletes are retention's, in batches, and rare).
CREATE FUNCTION rollup_mention_topics_leaving() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_topics_add(array_agg(substr(OLD.created_at, 1, 10)), array_agg(OLD.source),
                              array_agg(t.topic), array_agg(t.sentiment),
                              array_agg(coalesce(OLD.sentiment, '')), array_agg(-1))
    FROM mention_topics t WHERE t.mention_id = OLD.id;
    RETURN OLD;
END $$;

CREATE FUNCTION rollup_topics_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM rollup_topics_add(array_agg(substr(m.created_at, 1, 10)), array_agg(m.source),
                                  array_agg(t.topic), array_agg(t.sentiment),
                                  array_agg(coalesce(m.sentiment, '')), array_agg(-1))
        FROM old_topics t JOIN mentions m ON m.id = t.mention_id;  -- a cascade finds no mention
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM rollup_topics_add(array_agg(substr(m.created_at, 1, 10)), array_agg(m.source),
                                  array_agg(t.topic), array_agg(t.sentiment),
                                  array_agg(coalesce(m.sentiment, '')), array_agg(1))
        FROM new_topics t JOIN mentions m ON m.id = t.mention_id;
    END IF;
    RETURN NULL;
END $$;

-- TRUNCATE fires no row or transition-table triggers; it empties the counts with the rows.
CREATE FUNCTION rollup_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'mentions' THEN
        DELETE FROM daily_sentiment;
    END IF;
    DELETE FROM daily_topics;
    RETURN NULL;
END $$;

CREATE TRIGGER rollup_mentions_truncate AFTER TRUNCATE ON mentions
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_truncated();
CREATE TRIGGER rollup_topics_truncate AFTER TRUNCATE ON mention_topics
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_truncated();
CREATE TRIGGER rollup_mentions_insert AFTER INSERT ON mentions
    REFERENCING NEW TABLE AS new_mentions FOR EACH STATEMENT EXECUTE FUNCTION rollup_mentions_inserted();
CREATE TRIGGER rollup_mentions_update AFTER UPDATE ON mentions
    REFERENCING OLD TABLE AS old_mentions NEW TABLE AS new_mentions
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_mentions_updated();
CREATE TRIGGER rollup_mentions_delete AFTER DELETE ON mentions
    REFERENCING OLD TABLE AS old_mentions FOR EACH STATEMENT EXECUTE FUNCTION rollup_mentions_deleted();
CREATE TRIGGER rollup_mention_topics_leave BEFORE DELETE ON mentions
    FOR EACH ROW EXECUTE FUNCTION rollup_mention_topics_leaving();
CREATE TRIGGER rollup_topics_insert AFTER INSERT ON mention_topics
    REFERENCING NEW TABLE AS new_topics FOR EACH STATEMENT EXECUTE FUNCTION rollup_topics_changed();
CREATE TRIGGER rollup_topics_update AFTER UPDATE ON mention_topics
    REFERENCING OLD TABLE AS old_topics NEW TABLE AS new_topics
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_topics_changed();
CREATE TRIGGER rollup_topics_delete AFTER DELETE ON mention_topics
    REFERENCING OLD TABLE AS old_topics FOR EACH STATEMENT EXECUTE FUNCTION rollup_topics_changed();

-- Counts for rows written before these triggers existed.
INSERT INTO daily_sentiment (day, source, sentiment, n)
SELECT substr(created_at, 1, 10), source, coalesce(sentiment, ''), count(*) FROM mentions GROUP BY 1, 2, 3;
INSERT INTO daily_topics (day, source, topic, topic_sentiment, mention_sentiment, n)
SELECT substr(m.created_at, 1, 10), m.source, t.topic, t.sentiment, coalesce(m.sentiment, ''), count(*)
FROM mention_topics t JOIN mentions m ON m.id = t.mention_id GROUP BY 1, 2, 3, 4, 5;
