// Durations on the command line and in ETHBURST_* variables: "100ms", "2s",
// "1.5m", "1h". A bare number is refused on purpose: "100" could mean either
// milliseconds or seconds, and guessing wrong by 1000x is worse than asking.
// Only "0" means the same in every unit, so it needs none.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;

/** Milliseconds for a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === '0') return 0;
  const m = DURATION.exec(t);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isFinite(ms) ? ms : null;
}

/** Short human form, e.g. 100 -> "100ms", 2000 -> "2s", 90000 -> "90s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  if (ms < 600_000) return `${+(ms / 1000).toFixed(3)}s`;
  if (ms < 36_000_000) return `${+(ms / 60_000).toFixed(3)}m`;
  return `${+(ms / 3_600_000).toFixed(3)}h`;
}
