/**
 * Percentages of "proven" quantities, never rounded up: 100 % only when the fraction is exactly 1.
 * A fraction below 1 is truncated (not rounded), with enough decimals to show how far from 100 it
 * is (0.9999999988 → "99.9999998%", 0.5 → "50.0%"), so a report never claims all of a box it did
 * not prove.
 */
export function formatPercent(fraction: number): string {
  if (!(fraction >= 0)) return '0.0%';
  if (fraction >= 1) return '100%';
  const p = 100 * fraction;
  // decimals: one, or one past the first digit where p differs from 100
  const d = Math.min(16, Math.max(1, Math.floor(-Math.log10(100 - p)) + 1));
  // toFixed works on the exact binary value; cutting the string truncates towards zero
  const s = p.toFixed(20);
  return `${s.slice(0, s.indexOf('.') + 1 + d)}%`;
}
