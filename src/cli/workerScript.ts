/**
 * The source of a worker thread that runs a module of this package. Run from the TypeScript
 * source (through tsx or vitest), the worker registers tsx first: on Node 20 a worker does not
 * inherit the main thread's module hooks, so it could not otherwise load a .ts file. Run from the
 * built package (dist/*.js), it imports the module directly.
 *
 * `entry` is the module's URL *without* its extension, relative to the caller's import.meta.url
 * (e.g. new URL('./solveWorker', import.meta.url)); the caller's own extension is used.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export function workerScript(callerUrl: string, entryWithoutExt: string): string {
  const ext = extname(fileURLToPath(callerUrl));
  const entry = new URL(`${entryWithoutExt}${ext}`, callerUrl).href;
  if (ext !== '.ts') return `import(${JSON.stringify(entry)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}
