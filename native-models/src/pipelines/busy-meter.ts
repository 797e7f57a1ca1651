/**
 * Busy time of an engine: how much of the wall time at least one model call was in flight. This
 * is the "local GPU utilisation" KPI; overlapping calls count once, idle gaps not at all.
 */
import { performance } from 'node:perf_hooks';
import type { EngineUsage } from '../engine.js';

export class BusyMeter {
  private readonly createdAt = performance.now();
  private inFlight = 0;
  private busySince = 0;
  private busyTotal = 0;

  /** Marks one call as started; call the returned function exactly once when it settles. */
  begin(): () => void {
    if (this.inFlight++ === 0) this.busySince = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.inFlight === 0) this.busyTotal += performance.now() - this.busySince;
    };
  }

  usage(workers: { starts: number; crashes: number } = { starts: 0, crashes: 0 }): EngineUsage {
    const now = performance.now();
    const busyMs = this.busyTotal + (this.inFlight > 0 ? now - this.busySince : 0);
    const wallMs = now - this.createdAt;
    return {
      busyMs,
      wallMs,
      busyShare: wallMs > 0 ? Math.min(1, busyMs / wallMs) : 0,
      workerStarts: workers.starts,
      workerCrashes: workers.crashes,
    };
  }
}
