/**
 * The app database's schema, one SQL string per version, applied in order and never edited once
 * released: a change is a new entry at the end. Money columns are integer micro-dollars; times are
 * integer milliseconds since the epoch (UTC), so period arithmetic happens in one place (spend/periods.ts).
 */
export const APP_MIGRATIONS: readonly string[] = [
  // 1 — content-addressed images and gallery pins.
  `
  CREATE TABLE images (
    id            TEXT PRIMARY KEY CHECK (length(id) = 64),  -- sha256 of the bytes, hex
    mime          TEXT NOT NULL,
    width         INTEGER NOT NULL CHECK (width > 0),
    height        INTEGER NOT NULL CHECK (height > 0),
    bytes         INTEGER NOT NULL CHECK (bytes > 0),
    source        TEXT NOT NULL CHECK (source IN ('local-preview', 'cloud-final', 'import')),
    parameters    TEXT,                                      -- generation parameters, JSON
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX images_least_recently_used ON images (last_used_at, id);

  CREATE TABLE gallery_pins (
    image_id   TEXT PRIMARY KEY REFERENCES images (id),
    pinned_at  INTEGER NOT NULL
  ) STRICT;
  `,

  // 2 — exact cache: entries, the images they return, and hit/miss counters per UTC day.
  `
  CREATE TABLE cache_entries (
    key          TEXT PRIMARY KEY,                           -- sha256 of the canonical request
    provider     TEXT NOT NULL,
    model        TEXT NOT NULL,
    request      TEXT NOT NULL,                              -- the canonical JSON that was hashed
    cost_micros  INTEGER NOT NULL CHECK (cost_micros >= 0),  -- what the original render paid
    created_at   INTEGER NOT NULL,
    hit_count    INTEGER NOT NULL DEFAULT 0,
    last_hit_at  INTEGER
  ) STRICT;

  CREATE TABLE cache_entry_images (
    key       TEXT NOT NULL REFERENCES cache_entries (key) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    image_id  TEXT NOT NULL REFERENCES images (id),
    PRIMARY KEY (key, position)
  ) STRICT;
  CREATE INDEX cache_entry_images_by_image ON cache_entry_images (image_id);

  CREATE TABLE cache_counters (
    day           TEXT NOT NULL,                             -- UTC YYYY-MM-DD
    kind          TEXT NOT NULL,                             -- 'exact'; other caches add their own kind
    hits          INTEGER NOT NULL DEFAULT 0,
    misses        INTEGER NOT NULL DEFAULT 0,
    bypassed      INTEGER NOT NULL DEFAULT 0,                -- random-seed requests the user did not allow to cache
    saved_micros  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind)
  ) STRICT;
  `,

  // 3 — the append-only spend ledger and local budgets.
  `
  CREATE TABLE ledger (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id           TEXT NOT NULL UNIQUE,
    status               TEXT NOT NULL CHECK (status IN ('reserved', 'settled', 'released', 'failed-billed')),
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    project              TEXT,
    member               TEXT,
    currency             TEXT NOT NULL DEFAULT 'USD',
    estimate_kind        TEXT NOT NULL CHECK (estimate_kind IN ('exact', 'range', 'unknown')),
    estimate_min_micros  INTEGER,
    estimate_max_micros  INTEGER,
    estimate_basis       TEXT NOT NULL,
    reserved_micros      INTEGER NOT NULL CHECK (reserved_micros >= 0),
    actual_micros        INTEGER CHECK (actual_micros >= 0),
    actual_source        TEXT,
    actual_basis         TEXT,
    note                 TEXT,                               -- why it was released or failed
    created_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    CHECK ((status = 'reserved') = (finished_at IS NULL)),
    CHECK (status NOT IN ('settled', 'failed-billed') OR actual_micros IS NOT NULL)
  ) STRICT;
  CREATE INDEX ledger_by_time ON ledger (created_at);
  CREATE INDEX ledger_open_reservations ON ledger (created_at) WHERE status = 'reserved';

  CREATE TRIGGER ledger_rows_are_never_deleted BEFORE DELETE ON ledger
  BEGIN
    SELECT RAISE(ABORT, 'the spend ledger is append-only: rows cannot be deleted');
  END;

  CREATE TRIGGER ledger_rows_change_only_by_status_transition BEFORE UPDATE ON ledger
  WHEN NOT (
    OLD.status = 'reserved' AND NEW.status IN ('settled', 'released', 'failed-billed')
    AND NEW.id IS OLD.id AND NEW.request_id IS OLD.request_id
    AND NEW.provider IS OLD.provider AND NEW.model IS OLD.model
    AND NEW.project IS OLD.project AND NEW.member IS OLD.member AND NEW.currency IS OLD.currency
    AND NEW.estimate_kind IS OLD.estimate_kind AND NEW.estimate_min_micros IS OLD.estimate_min_micros
    AND NEW.estimate_max_micros IS OLD.estimate_max_micros AND NEW.estimate_basis IS OLD.estimate_basis
    AND NEW.reserved_micros IS OLD.reserved_micros AND NEW.created_at IS OLD.created_at
  )
  BEGIN
    SELECT RAISE(ABORT, 'the spend ledger is append-only: a row changes only once, from reserved to settled, released or failed-billed');
  END;

  CREATE TABLE ledger_images (
    request_id  TEXT NOT NULL REFERENCES ledger (request_id),
    image_id    TEXT NOT NULL REFERENCES images (id),
    PRIMARY KEY (request_id, image_id)
  ) STRICT;
  CREATE INDEX ledger_images_by_image ON ledger_images (image_id);
  CREATE TRIGGER ledger_images_are_never_deleted BEFORE DELETE ON ledger_images
  BEGIN
    SELECT RAISE(ABORT, 'the spend ledger is append-only: image links cannot be deleted');
  END;
  CREATE TRIGGER ledger_images_are_never_updated BEFORE UPDATE ON ledger_images
  BEGIN
    SELECT RAISE(ABORT, 'the spend ledger is append-only: image links cannot be changed');
  END;

  CREATE TABLE budgets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    scope        TEXT NOT NULL CHECK (scope IN ('global', 'provider', 'project')),
    scope_value  TEXT NOT NULL DEFAULT '',                   -- provider id or project name; '' for global
    period       TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    soft_micros  INTEGER CHECK (soft_micros >= 0),
    hard_micros  INTEGER CHECK (hard_micros >= 0),
    updated_at   INTEGER NOT NULL,
    UNIQUE (scope, scope_value, period),
    CHECK (soft_micros IS NOT NULL OR hard_micros IS NOT NULL),
    CHECK ((scope = 'global') = (scope_value = ''))
  ) STRICT;
  `,

  // 4 — studio mode, this seat's side: spend made or finished while the studio database was unreachable.
  `
  CREATE TABLE studio_outbox (
    request_id           TEXT PRIMARY KEY,
    studio_id            TEXT NOT NULL,
    origin               TEXT NOT NULL CHECK (origin IN ('offline', 'online')),  -- offline: reserved against the seat allowance
    member               TEXT NOT NULL,
    seat                 TEXT NOT NULL,
    provider             TEXT,
    model                TEXT,
    project              TEXT,
    estimate_kind        TEXT,
    estimate_min_micros  INTEGER,
    estimate_max_micros  INTEGER,
    estimate_basis       TEXT,
    reserved_micros      INTEGER,
    status               TEXT NOT NULL CHECK (status IN ('reserved', 'settled', 'released', 'failed-billed')),
    actual_micros        INTEGER,
    actual_source        TEXT,
    actual_basis         TEXT,
    note                 TEXT,
    created_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    synced_status        TEXT,                               -- the status PostgreSQL has; NULL: the row is not there yet
    synced_at            INTEGER,
    CHECK (origin = 'online' OR reserved_micros IS NOT NULL)
  ) STRICT;
  CREATE INDEX studio_outbox_pending ON studio_outbox (studio_id, created_at) WHERE synced_status IS NOT status;

  CREATE TABLE studio_policy_cache (
    studio_id   TEXT PRIMARY KEY,
    policy      TEXT NOT NULL,                               -- JSON, the last policy read from PostgreSQL
    fetched_at  INTEGER NOT NULL
  ) STRICT;
  `,
  // 5 — local preview runs, for the p95 latency of local previews on the dashboard.
  `
  CREATE TABLE local_runs (
    id                  INTEGER PRIMARY KEY,
    model_id            TEXT NOT NULL,
    execution_provider  TEXT NOT NULL,
    steps               INTEGER NOT NULL,
    width               INTEGER NOT NULL,
    height              INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('completed', 'cancelled', 'failed')),
    total_ms            REAL NOT NULL,
    image_id            TEXT REFERENCES images (id),
    created_at          INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX local_runs_by_time ON local_runs (created_at);
  `,

  // 6 — cloud final jobs: written before anything is sent, so a crash resumes polling instead of paying twice.
  `
  CREATE TABLE final_jobs (
    id                        TEXT PRIMARY KEY,                 -- uuid
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    provider                  TEXT NOT NULL,
    model                     TEXT NOT NULL,
    project                   TEXT,
    request                   TEXT NOT NULL,                    -- JSON; never a key; an init image by image-store id
    estimate                  TEXT NOT NULL,                    -- CostEstimate JSON, as shown before sending
    unknown_price_cap_micros  INTEGER CHECK (unknown_price_cap_micros >= 0),
    cache_random_seed         INTEGER NOT NULL DEFAULT 0,       -- the user allowed caching a random-seed request
    ledger_request_id         TEXT,                             -- set once the reservation is made
    status                    TEXT NOT NULL CHECK (status IN ('queued', 'reserving', 'submitting', 'accepted', 'succeeded', 'failed', 'cancelled', 'unknown-submission')),
    provider_job_id           TEXT,
    pending_job               TEXT,                             -- PendingJob JSON, enough to resume polling
    image_ids                 TEXT,                             -- JSON array of image-store ids
    actual                    TEXT,                             -- ActualCost JSON
    cache_saved_micros        INTEGER,                          -- set when the exact cache answered
    message                   TEXT,                             -- what the user should know about the outcome
    error                     TEXT,                             -- ErrorPayload JSON of the failure that ended the job
    last_error                TEXT,                             -- ErrorPayload JSON of the latest trouble, retried or not
    attempts                  INTEGER NOT NULL DEFAULT 0,       -- HTTP sends of the submit (429 retries included)
    cancel_requested_at       INTEGER,
    runner                    TEXT,                             -- the FinalsService instance working on it
    runner_pid                INTEGER,
    CHECK (status NOT IN ('accepted') OR (provider_job_id IS NOT NULL AND pending_job IS NOT NULL))
  ) STRICT;
  CREATE INDEX final_jobs_by_time ON final_jobs (created_at);
  CREATE INDEX final_jobs_open ON final_jobs (created_at) WHERE status IN ('queued', 'reserving', 'submitting', 'accepted', 'unknown-submission');

  -- No provider offers idempotency keys, so "never submitted twice" is a rule of the table itself:
  -- a job reaches 'submitting' only from 'reserving', and no state leads back to 'reserving'.
  CREATE TRIGGER final_jobs_status_moves_forward BEFORE UPDATE OF status ON final_jobs
  WHEN NEW.status IS NOT OLD.status AND NOT (
    (OLD.status = 'queued' AND NEW.status IN ('reserving', 'failed', 'cancelled'))
    OR (OLD.status = 'reserving' AND NEW.status IN ('submitting', 'failed', 'cancelled'))
    OR (OLD.status = 'submitting' AND NEW.status IN ('accepted', 'succeeded', 'failed', 'unknown-submission'))
    OR (OLD.status = 'accepted' AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    OR (OLD.status = 'unknown-submission' AND NEW.status = 'failed')
  )
  BEGIN
    SELECT RAISE(ABORT, 'a final job only moves forward (queued, reserving, submitting, accepted, then an outcome): it is never submitted twice');
  END;

  CREATE TRIGGER final_jobs_provider_job_id_is_kept BEFORE UPDATE OF provider_job_id ON final_jobs
  WHEN OLD.provider_job_id IS NOT NULL AND NEW.provider_job_id IS NOT OLD.provider_job_id
  BEGIN
    SELECT RAISE(ABORT, 'a final job keeps the provider job id it was accepted under');
  END;
  `,

  // 7 — semantic cache: prompt embeddings of paid finals, offered (never substituted) as near matches.
  `
  CREATE TABLE semantic_cache_entries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,        -- never reused: an open index catches up on ids above its last
    embedding_model   TEXT NOT NULL,                            -- which text encoder; vectors of different encoders are never compared
    dimension         INTEGER NOT NULL CHECK (dimension > 0),
    embedding         BLOB NOT NULL CHECK (length(embedding) = 4 * dimension),  -- L2-normalised float32, little-endian
    prompt            TEXT NOT NULL,                            -- as the user typed it
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    size              TEXT,                                     -- 'WxH', or 'W:H' for ratio-sized models; NULL when the request had neither
    exact_key         TEXT NOT NULL,                            -- the exact cache key of the request (that entry may not exist: random seeds)
    request           TEXT NOT NULL,                            -- the canonical request JSON that key hashes
    cost_micros       INTEGER NOT NULL CHECK (cost_micros >= 0),-- what the render paid: what reusing it saves
    created_at        INTEGER NOT NULL,
    accepted_count    INTEGER NOT NULL DEFAULT 0,
    last_accepted_at  INTEGER
  ) STRICT;
  CREATE INDEX semantic_cache_entries_by_model ON semantic_cache_entries (embedding_model, id);

  -- All rows of one model have one dimension, so checking the first row is enough (none: NULL, no check).
  CREATE TRIGGER semantic_cache_one_dimension_per_model BEFORE INSERT ON semantic_cache_entries
  WHEN (SELECT dimension FROM semantic_cache_entries WHERE embedding_model = NEW.embedding_model ORDER BY id LIMIT 1) <> NEW.dimension
  BEGIN
    SELECT RAISE(ABORT, 'a semantic cache embedding model has one dimension: embeddings of another size need another model key');
  END;

  CREATE TABLE semantic_cache_images (
    entry_id  INTEGER NOT NULL REFERENCES semantic_cache_entries (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    image_id  TEXT NOT NULL REFERENCES images (id),
    PRIMARY KEY (entry_id, position)
  ) STRICT;
  CREATE INDEX semantic_cache_images_by_image ON semantic_cache_images (image_id);
  `,
];
