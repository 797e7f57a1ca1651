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
];
