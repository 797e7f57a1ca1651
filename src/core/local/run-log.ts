import type { SqliteDatabase } from '../db/sqlite.js';
import type { LocalRunStats } from '../spend/kpis.js';

export interface LocalRunRecord {
  modelId: string;
  executionProvider: string;
  steps: number;
  width: number;
  height: number;
  status: 'completed' | 'cancelled' | 'failed';
  totalMs: number;
  imageId: string | null;
}

/** How many recent previews the latency KPI looks at. */
const LATENCY_WINDOW = 1000;

/** Every local preview run, for the dashboard; utilisation comes live from the worker. */
export class LocalRunLog implements LocalRunStats {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly busyShare: () => number | null = () => null,
    private readonly now: () => number = Date.now,
  ) {}

  record(run: LocalRunRecord): void {
    this.db
      .prepare(
        `INSERT INTO local_runs (model_id, execution_provider, steps, width, height, status, total_ms, image_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(run.modelId, run.executionProvider, run.steps, run.width, run.height, run.status, run.totalMs, run.imageId, this.now());
  }

  latenciesMs(): number[] {
    const rows = this.db
      .prepare(`SELECT total_ms FROM local_runs WHERE status = 'completed' ORDER BY created_at DESC LIMIT ?`)
      .all(LATENCY_WINDOW) as Array<{ total_ms: number }>;
    return rows.map((r) => r.total_ms);
  }

  utilisation(): number | null {
    return this.busyShare();
  }
}
