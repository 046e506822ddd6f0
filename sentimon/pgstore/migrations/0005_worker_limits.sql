-- State that `sentimon worker` processes share (sentimon/worker_limits.py), so a limit one
-- worker learned holds for every worker and survives a restart: nothing of it lives in memory.

-- When a key may run again: 'connector:NAME' after repeated failures, 'credential:HASH' after
-- the source answered Retry-After on that credential. Times are the server's (now()), so
-- workers on machines whose clocks disagree still agree on when a wait ends.
CREATE TABLE worker_backoff (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,      -- failed runs in a row ('connector:' keys)
    not_before TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL DEFAULT '',          -- the run's error, secrets already masked
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One random value per install: a credential's lock name is an HMAC of the secret under it,
-- so the job table, logs and metrics never hold the secret or a hash one could test guesses
-- against without this row. gen_random_uuid() draws from the server's strong random source.
CREATE TABLE worker_install (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    salt TEXT NOT NULL
);
INSERT INTO worker_install (salt)
VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
