/** A unit granted by a rate limiter at a (simulated) time. */
export interface Grant {
  at: number;
  cost: number;
}

/** The most units granted in any closed window [t, t + windowMs] that starts at a grant (two pointers). */
export function busiestWindow(grants: readonly Grant[], windowMs: number): number {
  let worst = 0;
  let sum = 0;
  let end = 0;
  for (let start = 0; start < grants.length; start++) {
    while (end < grants.length && (grants[end]?.at ?? Infinity) <= (grants[start]?.at ?? 0) + windowMs) sum += grants[end++]?.cost ?? 0;
    worst = Math.max(worst, sum);
    sum -= grants[start]?.cost ?? 0;
  }
  return worst;
}
