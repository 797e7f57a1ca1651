import { AppError } from '../../contract/errors.js';

/**
 * Calendar periods in the user's time zone. "This month" means the month on the user's wall clock,
 * not UTC's, so a budget resets at local midnight; Intl knows every IANA zone and its DST history,
 * and we only need it to tell us the wall-clock time of an instant.
 */
export type BudgetPeriod = 'day' | 'week' | 'month';

const HOUR = 3_600_000;
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

interface WallClock {
  year: number;
  month: number;
  day: number;
  /** ISO weekday, Monday = 1. */
  weekday: number;
  /** The wall-clock time expressed as if it were UTC, in ms: comparable across instants. */
  wallMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        weekday: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (error) {
      throw new AppError('invalid_input', `Unknown time zone "${timeZone}".`, {
        hint: 'Use an IANA zone name such as Europe/Berlin or America/New_York.',
        cause: error,
      });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws an AppError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

export function wallClock(at: number, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(at))) parts[part.type] = part.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const wallMs = Date.UTC(year, month - 1, day, Number(parts.hour), Number(parts.minute), Number(parts.second)) + (((at % 1000) + 1000) % 1000);
  return { year, month, day, weekday: WEEKDAYS[parts.weekday ?? ''] ?? 1, wallMs };
}

/** The first instant of a local calendar date. Month and day may overflow (Date.UTC normalises them). */
export function startOfLocalDate(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Every UTC offset in force around that date gives one candidate; a DST change near midnight
  // makes two, and where midnight happens twice the day starts at the earlier one.
  const samples = [wall - 36 * HOUR, wall - 14 * HOUR, wall, wall + 12 * HOUR, wall + 36 * HOUR];
  const candidates = [...new Set(samples.map((s) => wall - (wallClock(s, timeZone).wallMs - s)))];
  const exact = candidates.filter((c) => wallClock(c, timeZone).wallMs === wall);
  if (exact.length > 0) return Math.min(...exact);
  // The clocks jumped over midnight (e.g. America/Santiago in September): the day starts at the jump.
  let lo = Math.min(...candidates) - 2 * HOUR;
  let hi = Math.max(...candidates) + 2 * HOUR;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (wallClock(mid, timeZone).wallMs >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Start of the calendar day, ISO week (Monday) or month containing `at`, in `timeZone`. */
export function periodStart(period: BudgetPeriod, at: number, timeZone: string): number {
  const { year, month, day, weekday } = wallClock(at, timeZone);
  switch (period) {
    case 'day':
      return startOfLocalDate(year, month, day, timeZone);
    case 'week':
      return startOfLocalDate(year, month, day - (weekday - 1), timeZone);
    case 'month':
      return startOfLocalDate(year, month, 1, timeZone);
  }
}

/** Start of the next period: when a budget for this period resets. */
export function nextPeriodStart(period: BudgetPeriod, at: number, timeZone: string): number {
  const { year, month, day, weekday } = wallClock(at, timeZone);
  switch (period) {
    case 'day':
      return startOfLocalDate(year, month, day + 1, timeZone);
    case 'week':
      return startOfLocalDate(year, month, day - (weekday - 1) + 7, timeZone);
    case 'month':
      return startOfLocalDate(year, month + 1, 1, timeZone);
  }
}

/** `YYYY-MM-DD` of the local calendar date containing `at`: the key spend-by-day groups on. */
export function localDateKey(at: number, timeZone: string): string {
  return new Date(wallClock(at, timeZone).wallMs).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD HH:MM` on the local wall clock, for messages such as "resets at …". */
export function localDateTimeLabel(at: number, timeZone: string): string {
  return new Date(wallClock(at, timeZone).wallMs).toISOString().slice(0, 16).replace('T', ' ');
}

/** "today", "this week", "this month": how a budget message names the period. */
export function periodLabel(period: BudgetPeriod): string {
  return period === 'day' ? 'today' : `this ${period}`;
}
