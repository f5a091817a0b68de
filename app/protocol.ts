/** Messages between the page (main.ts) and the worker (worker.ts): plain, structured-cloneable data. */
import type { CertifiedResult, CertifyOptions, Query } from '../src/index.ts';

export interface FileIn {
  name: string;
  bytes: Uint8Array;
}

export type Request =
  | { kind: 'load'; files: FileIn[] }
  | { kind: 'solve'; query: Query; prove: boolean; options: CertifyOptions };

export interface ModelInfo {
  name: string;
  hash: string;
  inputs: { name: string; range: [number, number] | null }[];
  outputs: { name: string; range: [number, number] | null }[];
  warnings: string[];
}

export type Reply =
  | { kind: 'model'; info: ModelInfo }
  | { kind: 'result'; result: CertifiedResult; brief: string; spec: object | null; plotError: string | null }
  | { kind: 'error'; error: { code: string; message: string } };
