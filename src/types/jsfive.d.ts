/**
 * The part of jsfive (a pure-JS HDF5 reader, no types of its own) that the Keras importer uses.
 * jsfive throws strings as well as Errors; callers wrap every call.
 */
declare module 'jsfive' {
  export class Group {
    /** Full path of this group inside the file. */
    readonly name: string;
    /** Names of the links (children) of this group. */
    readonly keys: string[];
    /** Attributes, decoded: strings, numbers, or arrays of them. */
    readonly attrs: Record<string, unknown>;
    /** A child (or a nested path, "a/b") of this group. */
    get(path: string): Group | Dataset | null;
  }

  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }

  export class Dataset {
    readonly name: string;
    /** Dimensions; [] for a scalar. */
    readonly shape: number[];
    /** numpy-style type string such as "<f4", or an array for compound/string types. */
    readonly dtype: string | unknown[];
    readonly attrs: Record<string, unknown>;
    /** The data, flattened in C order (reads the whole dataset). */
    readonly value: ArrayLike<number> | unknown[];
    /** Internal; read to know whether a filter (compression) applies before reading data. */
    readonly _dataobjects: { readonly filter_pipeline: unknown[] | null };
  }
}
