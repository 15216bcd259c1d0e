const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration such as `7d`, `12h`, `30m`, `45s`, `500ms` or a bare number of seconds
 * into milliseconds; returns null for anything else (the env loader names the variable).
 */
export function parseDuration(value: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(value);
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = (match[2] ?? 's').toLowerCase();
  const factor = UNITS[unit];
  if (factor === undefined || !Number.isFinite(amount)) return null;
  return Math.round(amount * factor);
}
