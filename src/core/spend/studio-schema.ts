import type pg from 'pg';
import { AppError } from '../../contract/errors.js';

/**
 * The studio's side, in a PostgreSQL database the studio already runs. Everything lives in its own
 * schema so it never collides with the studio's tables; one SQL string per version, applied in
 * order under an advisory lock so ten seats starting at once migrate it exactly once.
 */
export const STUDIO_SCHEMA = 'imagebench';

export const STUDIO_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE imagebench.studio_policy (
    studio_id                    text PRIMARY KEY,
    allowed_providers            text[],                  -- NULL: any provider
    allowed_models               text[],                  -- 'provider:model'; NULL: any model
    max_price_per_image_micros   bigint CHECK (max_price_per_image_micros >= 0),
    member_monthly_limit_micros  bigint CHECK (member_monthly_limit_micros >= 0),  -- for members without their own
    member_monthly_limits        jsonb NOT NULL DEFAULT '{}'::jsonb,              -- member -> micros
    studio_monthly_cap_micros    bigint CHECK (studio_monthly_cap_micros >= 0),
    offline_rule                 text NOT NULL DEFAULT 'block' CHECK (offline_rule IN ('block', 'allowance')),
    offline_allowance_micros     bigint NOT NULL DEFAULT 0 CHECK (offline_allowance_micros >= 0),  -- per seat
    time_zone                    text NOT NULL DEFAULT 'UTC',
    updated_at                   timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE imagebench.ledger (
    id                   bigserial PRIMARY KEY,
    studio_id            text NOT NULL REFERENCES imagebench.studio_policy (studio_id),
    request_id           text NOT NULL UNIQUE,
    status               text NOT NULL CHECK (status IN ('reserved', 'settled', 'released', 'failed-billed')),
    origin               text NOT NULL CHECK (origin IN ('online', 'offline')),  -- offline: spent from a seat allowance, synced later
    member               text NOT NULL,
    seat                 text NOT NULL,
    provider             text NOT NULL,
    model                text NOT NULL,
    project              text,
    currency             text NOT NULL DEFAULT 'USD',
    estimate_kind        text NOT NULL CHECK (estimate_kind IN ('exact', 'range', 'unknown')),
    estimate_min_micros  bigint,
    estimate_max_micros  bigint,
    estimate_basis       text NOT NULL,
    reserved_micros      bigint NOT NULL CHECK (reserved_micros >= 0),
    actual_micros        bigint CHECK (actual_micros >= 0),
    actual_source        text,
    actual_basis         text,
    note                 text,
    created_at           timestamptz NOT NULL,            -- when the seat reserved; offline rows keep their own time
    finished_at          timestamptz,
    synced_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'reserved') = (finished_at IS NULL)),
    CHECK (status NOT IN ('settled', 'failed-billed') OR actual_micros IS NOT NULL)
  );
  CREATE INDEX ledger_by_studio_time ON imagebench.ledger (studio_id, created_at);
  CREATE INDEX ledger_by_member_time ON imagebench.ledger (studio_id, member, created_at);

  CREATE FUNCTION imagebench.ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
      RAISE EXCEPTION 'the studio ledger is append-only: rows cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'reserved' OR NEW.status NOT IN ('settled', 'released', 'failed-billed')
       OR (NEW.id, NEW.studio_id, NEW.request_id, NEW.origin, NEW.member, NEW.seat, NEW.provider, NEW.model, NEW.project,
           NEW.currency, NEW.estimate_kind, NEW.estimate_min_micros, NEW.estimate_max_micros, NEW.estimate_basis,
           NEW.reserved_micros, NEW.created_at, NEW.synced_at)
          IS DISTINCT FROM
          (OLD.id, OLD.studio_id, OLD.request_id, OLD.origin, OLD.member, OLD.seat, OLD.provider, OLD.model, OLD.project,
           OLD.currency, OLD.estimate_kind, OLD.estimate_min_micros, OLD.estimate_max_micros, OLD.estimate_basis,
           OLD.reserved_micros, OLD.created_at, OLD.synced_at)
    THEN
      RAISE EXCEPTION 'the studio ledger is append-only: a row changes only once, from reserved to settled, released or failed-billed'
        USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON imagebench.ledger
    FOR EACH ROW EXECUTE FUNCTION imagebench.ledger_append_only();
  CREATE TRIGGER ledger_never_truncated BEFORE TRUNCATE ON imagebench.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION imagebench.ledger_append_only();
  `,
];

/** Creates or upgrades the studio schema; returns its version. */
export async function migrateStudioSchema(client: pg.ClientBase, migrations: readonly string[] = STUDIO_MIGRATIONS): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${STUDIO_SCHEMA}.schema'))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${STUDIO_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${STUDIO_SCHEMA}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const found = Number((await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0) AS v FROM ${STUDIO_SCHEMA}.schema_migrations`)).rows[0]?.v ?? 0);
    if (found > migrations.length) {
      throw new AppError('invalid_input', `The studio database was set up by a newer ImageBench (schema ${found}, this build knows ${migrations.length}).`, {
        hint: 'Update ImageBench on this seat to the version the studio uses.',
      });
    }
    for (let version = found + 1; version <= migrations.length; version += 1) {
      await client.query(migrations[version - 1] ?? '');
      await client.query(`INSERT INTO ${STUDIO_SCHEMA}.schema_migrations (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    return Math.max(found, migrations.length);
  } catch (error) {
    // The original error is what the user needs; a ROLLBACK on a dead connection would only hide it.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
