#!/usr/bin/env node
// Development launcher (not shipped): runs the TypeScript CLI in src/ through tsx, no build
// step. The installed package's `netinvert` bin is the built dist/cli/main.js (package.json).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsx resolved from this package, not from the caller's folder
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Ctrl-C and kill reach the CLI, which reports and exits (130 after Ctrl-C); the launcher
// outlives it to pass its exit code on
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
