/** Shared by the Keras and TF.js loaders: no exception but a NetinvertError leaves a loader. */
import { NetinvertError } from '../../errors.ts';

/**
 * The last guard: anything that is not a NetinvertError (a config shaped in a way no check
 * foresaw, a library failure) still reaches the caller as a coded error naming the file.
 */
export function rethrowUnexpected<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NetinvertError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new NetinvertError(
      'bad_model_file',
      `${file}: cannot read the model (${why}); the file is damaged or laid out in a way netinvert does not know. Re-save it from Keras / TF.js, or export it to ONNX`,
      { file },
    );
  }
}
