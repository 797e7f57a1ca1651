import type { SqliteDatabase } from '../db/sqlite.js';
import { assertTimeZone, localDateKey } from './periods.js';

export type SpendGrouping = 'day' | 'provider' | 'model' | 'project';

export interface SpendTotal {
  /** Local `YYYY-MM-DD`, a provider id, `provider:model`, or a project name ('' for none). */
  key: string;
  /** Billed: settled and failed-billed actuals. */
  billedMicros: number;
  /** Still held by reservations without an outcome. */
  reservedMicros: number;
  /** Paid attempts that were not released. */
  requests: number;
}

export interface SpendQuery {
  by: SpendGrouping;
  /** Only rows reserved at or after this instant (ms). */
  since?: number;
  /** Days are calendar days in this zone. */
  timeZone: string;
}

interface TotalsRow {
  provider: string;
  model: string;
  project: string | null;
  created_at: number;
  status: string;
  billed: number;
  reserved: number;
}

/**
 * `imagebench spend --by …`: totals from the ledger. Days are grouped here rather than in SQL because
 * SQLite knows no IANA time zones, and a day must be the user's day.
 */
export function spendTotals(db: SqliteDatabase, query: SpendQuery): SpendTotal[] {
  assertTimeZone(query.timeZone);
  const rows = db
    .prepare(
      `SELECT provider, model, project, created_at, status,
              CASE WHEN status IN ('settled', 'failed-billed') THEN actual_micros ELSE 0 END AS billed,
              CASE WHEN status = 'reserved' THEN reserved_micros ELSE 0 END AS reserved
       FROM ledger WHERE created_at >= ? ORDER BY created_at`,
    )
    .all(query.since ?? 0) as TotalsRow[];
  const totals = new Map<string, SpendTotal>();
  for (const row of rows) {
    const key = keyOf(row, query);
    const total = totals.get(key) ?? { key, billedMicros: 0, reservedMicros: 0, requests: 0 };
    total.billedMicros += row.billed;
    total.reservedMicros += row.reserved;
    if (row.status !== 'released') total.requests += 1;
    totals.set(key, total);
  }
  const list = [...totals.values()];
  return query.by === 'day'
    ? list.sort((a, b) => a.key.localeCompare(b.key))
    : list.sort((a, b) => b.billedMicros + b.reservedMicros - (a.billedMicros + a.reservedMicros) || a.key.localeCompare(b.key));
}

function keyOf(row: TotalsRow, query: SpendQuery): string {
  switch (query.by) {
    case 'day':
      return localDateKey(row.created_at, query.timeZone);
    case 'provider':
      return row.provider;
    case 'model':
      return `${row.provider}:${row.model}`;
    case 'project':
      return row.project ?? '';
  }
}

const CSV_COLUMNS = [
  'id', 'request_id', 'status', 'created_at', 'finished_at', 'provider', 'model', 'project', 'member', 'currency',
  'estimate_kind', 'estimate_min_usd', 'estimate_max_usd', 'reserved_usd', 'actual_usd', 'actual_source', 'note', 'image_ids',
] as const;

/**
 * The ledger as CSV for a spreadsheet: one row per paid attempt, amounts in USD with six decimals
 * (exact, since they are stored as micros), times in ISO 8601 UTC.
 */
export function ledgerCsv(db: SqliteDatabase, options: { since?: number } = {}): string {
  const rows = db
    .prepare(
      `SELECT l.*, (SELECT group_concat(image_id, ' ') FROM ledger_images i WHERE i.request_id = l.request_id) AS image_ids
       FROM ledger l WHERE created_at >= ? ORDER BY id`,
    )
    .all(options.since ?? 0) as Array<Record<string, string | number | null>>;
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) {
    const values: Record<(typeof CSV_COLUMNS)[number], string | number | null | undefined> = {
      id: row.id,
      request_id: row.request_id,
      status: row.status,
      created_at: isoTime(row.created_at),
      finished_at: isoTime(row.finished_at),
      provider: row.provider,
      model: row.model,
      project: row.project,
      member: row.member,
      currency: row.currency,
      estimate_kind: row.estimate_kind,
      estimate_min_usd: microsCell(row.estimate_min_micros),
      estimate_max_usd: microsCell(row.estimate_max_micros),
      reserved_usd: microsCell(row.reserved_micros),
      actual_usd: microsCell(row.actual_micros),
      actual_source: row.actual_source,
      note: row.note,
      image_ids: row.image_ids,
    };
    lines.push(CSV_COLUMNS.map((column) => csvCell(values[column])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function isoTime(value: string | number | null | undefined): string {
  return typeof value === 'number' ? new Date(value).toISOString() : '';
}

/** Integer micros → `0.040000`, without a float ever touching the digits. */
function microsCell(value: string | number | null | undefined): string {
  if (typeof value !== 'number') return '';
  const digits = String(Math.abs(value)).padStart(7, '0');
  return `${value < 0 ? '-' : ''}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** RFC 4180 quoting; a text cell a spreadsheet would run as a formula gets a leading apostrophe. */
function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
