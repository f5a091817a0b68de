/**
 * Writes data/add.csv, the seed question's training data (run: npx tsx scripts/make-add-csv.ts):
 * a and b on a 21 × 21 grid over [0, 10]² (step 0.5) and sum = a + b, exact in binary floats.
 * A grid rather than random points: every value is short and exact, and the file is the same
 * on every machine (about 5 KB).
 */
import { writeFileSync } from 'node:fs';

const lines = ['a,b,sum'];
for (let i = 0; i <= 20; i++) {
  for (let j = 0; j <= 20; j++) {
    const a = i / 2,
      b = j / 2;
    lines.push(`${a},${b},${a + b}`);
  }
}
writeFileSync(new URL('../data/add.csv', import.meta.url), lines.join('\n') + '\n');
console.log(`wrote data/add.csv (${lines.length - 1} rows)`);
