import type { SqliteDatabase } from '../db/sqlite.js';

/** Why an image could not be evicted: a paid final the ledger points to, a cache answer, a near match the semantic cache offers, the input of a cloud final still running, or a pin. */
export type KeepReason = 'ledger' | 'cache' | 'semantic-cache' | 'final-job' | 'pinned';

export interface EvictionReport {
  capBytes: number;
  bytesBefore: number;
  bytesAfter: number;
  evicted: Array<{ id: string; bytes: number }>;
  /** Images that were next in line but are still referenced, with why. */
  kept: Array<{ id: string; bytes: number; reasons: KeepReason[] }>;
  /** How far over the cap the store still is (0 when within it). */
  overCapBytes: number;
  /** For the user; null when the cap was met without keeping anything back. */
  message: string | null;
}

interface CandidateRow {
  id: string;
  mime: string;
  bytes: number;
  last_used_at: number;
  in_ledger: number;
  in_cache: number;
  in_semantic_cache: number;
  in_open_final: number;
  pinned: number;
}

/** A final that may still read its init image (an unknown submission could be resumed by the user's check). */
const OPEN_FINAL = `status IN ('queued', 'reserving', 'submitting', 'accepted', 'unknown-submission')`;

const REFERENCES = `
  EXISTS (SELECT 1 FROM ledger_images WHERE image_id = images.id) AS in_ledger,
  EXISTS (SELECT 1 FROM cache_entry_images WHERE image_id = images.id) AS in_cache,
  EXISTS (SELECT 1 FROM semantic_cache_images WHERE image_id = images.id) AS in_semantic_cache,
  EXISTS (SELECT 1 FROM final_jobs WHERE ${OPEN_FINAL} AND json_extract(request, '$.initImage.imageId') = images.id) AS in_open_final,
  EXISTS (SELECT 1 FROM gallery_pins WHERE image_id = images.id) AS pinned`;

const PAGE = 256;

/**
 * Deletes least-recently-used images until the store fits `capBytes`, skipping every image something
 * still points to. The check and the delete are one statement, so a reference added meanwhile wins;
 * the row goes first and the file after, so a crash leaves at worst an unregistered file, never a row
 * without its file.
 */
export async function evictToCap(
  db: SqliteDatabase,
  capBytes: number,
  options: { protect?: ReadonlySet<string>; deleteFiles: (id: string, mime: string) => Promise<void> },
): Promise<EvictionReport> {
  const total = (): number => (db.prepare('SELECT COALESCE(SUM(bytes), 0) AS total FROM images').get() as { total: number }).total;
  const bytesBefore = total();
  let current = bytesBefore;
  const evicted: EvictionReport['evicted'] = [];
  const kept: EvictionReport['kept'] = [];
  const page = db.prepare(
    `SELECT id, mime, bytes, last_used_at, ${REFERENCES} FROM images
     WHERE (last_used_at, id) > (?, ?) ORDER BY last_used_at, id LIMIT ${PAGE}`,
  );
  const remove = db.prepare(
    `DELETE FROM images WHERE id = @id
       AND NOT EXISTS (SELECT 1 FROM ledger_images WHERE image_id = @id)
       AND NOT EXISTS (SELECT 1 FROM cache_entry_images WHERE image_id = @id)
       AND NOT EXISTS (SELECT 1 FROM semantic_cache_images WHERE image_id = @id)
       AND NOT EXISTS (SELECT 1 FROM final_jobs WHERE ${OPEN_FINAL} AND json_extract(request, '$.initImage.imageId') = @id)
       AND NOT EXISTS (SELECT 1 FROM gallery_pins WHERE image_id = @id)`,
  );
  const recheck = db.prepare(`SELECT id, mime, bytes, last_used_at, ${REFERENCES} FROM images WHERE id = ?`);
  let cursor: [number, string] = [Number.MIN_SAFE_INTEGER, ''];
  while (current > capBytes) {
    const rows = page.all(cursor[0], cursor[1]) as CandidateRow[];
    if (rows.length === 0) break;
    for (const row of rows) {
      if (current <= capBytes) break;
      if (options.protect?.has(row.id)) continue;
      if (remove.run({ id: row.id }).changes === 1) {
        await options.deleteFiles(row.id, row.mime);
        evicted.push({ id: row.id, bytes: row.bytes });
        current -= row.bytes;
      } else {
        const fresh = (recheck.get(row.id) as CandidateRow | undefined) ?? row;
        kept.push({ id: row.id, bytes: row.bytes, reasons: reasonsOf(fresh) });
      }
    }
    const last = rows.at(-1);
    if (last) cursor = [last.last_used_at, last.id];
  }
  const bytesAfter = total();
  const overCapBytes = Math.max(0, bytesAfter - capBytes);
  return { capBytes, bytesBefore, bytesAfter, evicted, kept, overCapBytes, message: describe(kept, overCapBytes, capBytes) };
}

function reasonsOf(row: CandidateRow): KeepReason[] {
  const reasons: KeepReason[] = [];
  if (row.in_ledger) reasons.push('ledger');
  if (row.in_cache) reasons.push('cache');
  if (row.in_semantic_cache) reasons.push('semantic-cache');
  if (row.in_open_final) reasons.push('final-job');
  if (row.pinned) reasons.push('pinned');
  return reasons;
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

function describe(kept: EvictionReport['kept'], overCapBytes: number, capBytes: number): string | null {
  if (kept.length === 0 && overCapBytes === 0) return null;
  const count = (reason: KeepReason): number => kept.filter((k) => k.reasons.includes(reason)).length;
  const why = [
    count('ledger') ? `${count('ledger')} paid for (the spend ledger points to them)` : '',
    count('cache') ? `${count('cache')} answering cached requests` : '',
    count('semantic-cache') ? `${count('semantic-cache')} offered as near matches (the semantic cache points to them)` : '',
    count('final-job') ? `${count('final-job')} the input of a cloud final still running` : '',
    count('pinned') ? `${count('pinned')} pinned in the gallery` : '',
  ].filter(Boolean);
  const keptText = kept.length ? `Kept ${kept.length} image${kept.length === 1 ? '' : 's'} (${mb(kept.reduce((s, k) => s + k.bytes, 0))}) that would have been evicted: ${why.join(', ')}.` : '';
  const overText = overCapBytes > 0 ? ` The image store is ${mb(overCapBytes)} over its ${mb(capBytes)} cap; unpin images or raise cache.imageStoreMaxMb.` : '';
  return `${keptText}${overText}`.trim();
}
