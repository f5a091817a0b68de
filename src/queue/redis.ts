/**
 * The Redis side of `batch --queue URL` and `netinvert worker URL` (BullMQ on Redis).
 *
 * Keys (all under the queue's prefix, "netinvert"):
 *   netinvert:model:<sha256>   a model, as native JSON, stored once by the hash of that text
 *   netinvert:batch:<batch>    a batch's BatchInfo (its model's hash, the settings, the columns), stored once
 *   bull:netinvert:*           BullMQ's queue: one job per query, id <batch>-<sha256(query id)>, or with
 *                              batch --chunk K one job per K consecutive rows, id <batch>-<sha256 of their ids>
 * A batch is the model, the settings and the queries file's columns: its key is their hash, so the
 * same queries enqueued twice are the same jobs (BullMQ ignores a job whose id exists). A job
 * carries only its batch and its query: what the batch's jobs share is stored once, as the model
 * is, and read once per worker (a job's hash, its events and the AOF stay small).
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { NetinvertError } from '../errors.ts';
import type { Settings } from '../cli/batch/options.ts';
import type { Layout, QueryRow } from '../cli/batch/queries.ts';
import type { Answer } from '../cli/batch/solveQuery.ts';

export const QUEUE_NAME = 'netinvert';

/** What a batch's jobs share, stored once under batchKey(batch): the model's hash, the settings and the queries file's columns. */
export interface BatchInfo {
  model: string;
  settings: Settings;
  layout: Layout;
}

/** What a job carries: its batch and its queries (one, or a chunk of consecutive rows: batch --chunk). */
export interface JobData {
  batch: string;
  qs: QueryRow[];
}

/**
 * What a job returns: one result per query of the job, in its order. A query whose thread failed
 * on the job's last attempt is `{ failed }` (the collector writes an error row for it); before the
 * last attempt such a job fails and is tried again (a job of one query fails on its last attempt too).
 */
export type JobAnswers = (Answer | { failed: string })[];

/** A failed job is tried this many times in all (a malformed query is an error row, not a failure). */
export const JOB_ATTEMPTS = 2;

/** One query of a job with its batch's info: everything a job thread needs to answer it but the model itself. */
export type BatchJob = BatchInfo & { batch: string; q: QueryRow };

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export const modelKey = (hash: string): string => `${QUEUE_NAME}:model:${hash}`;

export const batchKey = (batch: string): string => `${QUEUE_NAME}:batch:${batch}`;

/** A job's id: by its query's id (one query), or by its queries' ids in order (a chunk). */
export function jobId(batch: string, queryIds: readonly string[]): string {
  return `${batch}-${sha256(queryIds.length === 1 ? queryIds[0] : `\0chunk\0${queryIds.join('\0')}`).slice(0, 32)}`;
}

/** The Redis hash of a job (BullMQ's default prefix "bull", our queue). */
export const jobKey = (id: string): string => `bull:${QUEUE_NAME}:${id}`;

/** A connection to the Redis server at `url` (redis://host:port/db); BullMQ needs maxRetriesPerRequest null. */
export function connect(url: string): Redis {
  if (!/^rediss?:\/\//.test(url)) {
    throw new NetinvertError('bad_argument', `"${url}" is not a Redis URL; give redis://host:port/db (e.g. redis://127.0.0.1:6379/0)`);
  }
  try {
    new URL(url);
  } catch {
    throw new NetinvertError('bad_argument', `"${url}" is not a Redis URL; give redis://host:port/db (e.g. redis://127.0.0.1:6379/0)`);
  }
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Wait until the server answers, or fail with a coded error saying what to check. */
export async function reachable(conn: Redis, url: string, ms = 10_000): Promise<void> {
  const timer = new Promise<never>((_r, reject) =>
    setTimeout(
      () => reject(new NetinvertError('queue_unreachable', `cannot reach Redis at ${url} within ${ms / 1000} s; check that redis-server runs there and the port is open`)),
      ms,
    ).unref(),
  );
  await Promise.race([conn.ping(), timer]);
}
