// Orders shared by every floor: sorted output (devices, stats, bursts) must
// not depend on the locale of the machine that runs ethburst.

/** Plain code-unit order: stable across locales, unlike localeCompare. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
