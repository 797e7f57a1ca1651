import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { localDateKey, nextPeriodStart, periodStart } from '../../../src/core/spend/periods.js';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('calendar periods in the user time zone', () => {
  it('starts the day at local midnight, not UTC midnight (New York, the day after DST began)', () => {
    // 03:30Z on 10 March is still 23:30 on 9 March in New York (EDT, UTC-4).
    expect(iso(periodStart('day', t('2025-03-10T03:30:00Z'), 'America/New_York'))).toBe('2025-03-09T05:00:00.000Z');
    // 9 March began in EST (UTC-5) and lost an hour: 23 hours long.
    expect(iso(nextPeriodStart('day', t('2025-03-10T03:30:00Z'), 'America/New_York'))).toBe('2025-03-10T04:00:00.000Z');
    expect(iso(periodStart('day', t('2025-03-10T04:30:00Z'), 'America/New_York'))).toBe('2025-03-10T04:00:00.000Z');
    expect(localDateKey(t('2025-03-10T03:30:00Z'), 'America/New_York')).toBe('2025-03-09');
    expect(localDateKey(t('2025-03-10T03:30:00Z'), 'UTC')).toBe('2025-03-10');
  });

  it('starts the week on Monday in the local zone', () => {
    // Monday 10 March 2025, 00:30 in New York.
    expect(iso(periodStart('week', t('2025-03-10T04:30:00Z'), 'America/New_York'))).toBe('2025-03-10T04:00:00.000Z');
    // Half an hour earlier it is still Sunday: the week began Monday 3 March, in EST.
    expect(iso(periodStart('week', t('2025-03-10T03:30:00Z'), 'America/New_York'))).toBe('2025-03-03T05:00:00.000Z');
    expect(iso(nextPeriodStart('week', t('2025-03-10T03:30:00Z'), 'America/New_York'))).toBe('2025-03-10T04:00:00.000Z');
  });

  it('starts the month on the local calendar (Auckland is already in April)', () => {
    const at = t('2025-03-31T11:30:00Z'); // 1 April, 00:30 NZDT (UTC+13)
    expect(iso(periodStart('month', at, 'Pacific/Auckland'))).toBe('2025-03-31T11:00:00.000Z');
    expect(iso(periodStart('month', at, 'UTC'))).toBe('2025-03-01T00:00:00.000Z');
    // Auckland leaves DST on 6 April, so May begins at UTC+12.
    expect(iso(nextPeriodStart('month', at, 'Pacific/Auckland'))).toBe('2025-04-30T12:00:00.000Z');
    expect(iso(nextPeriodStart('month', t('2025-12-15T00:00:00Z'), 'UTC'))).toBe('2026-01-01T00:00:00.000Z');
  });

  it('begins a day whose midnight was skipped at the jump (Santiago, 8 September 2024)', () => {
    expect(iso(periodStart('day', t('2024-09-08T12:00:00Z'), 'America/Santiago'))).toBe('2024-09-08T04:00:00.000Z');
    expect(iso(nextPeriodStart('day', t('2024-09-07T12:00:00Z'), 'America/Santiago'))).toBe('2024-09-08T04:00:00.000Z');
  });

  it('begins a day whose midnight happened twice at the first one (Havana, 3 November 2024)', () => {
    expect(iso(periodStart('day', t('2024-11-03T12:00:00Z'), 'America/Havana'))).toBe('2024-11-03T04:00:00.000Z');
  });

  it('refuses a zone Intl does not know', () => {
    expect(() => periodStart('day', Date.now(), 'Mars/Olympus_Mons')).toThrow(AppError);
    expect(() => periodStart('day', Date.now(), 'Mars/Olympus_Mons')).toThrow(/Unknown time zone/);
  });
});
