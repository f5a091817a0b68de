/**
 * `netinvert check-certificate MODEL CERT.json`: re-check a proof with the independent verifier.
 * An unsat certificate of `netinvert verify` (format netinvert-vnn-certificate) also needs the
 * property: `check-certificate MODEL CERT.json --vnnlib PROP.vnnlib`.
 * Prints the query the certificate proves, then "valid" (exit 0) or "invalid: <reason>" (exit 1).
 * Anyone can audit a claim this way: the verifier trusts nothing in the certificate but its
 * boxes, and re-derives every bound from the model.
 */
import { NetinvertError } from '../../errors.ts';
import { describeCertificateQuery, verifyCertificate, type Certificate } from '../../certify/proof/certificate.ts';
import { isVnnCertificateLike } from '../../certify/proof/vnnCertificate.ts';
import { verifyVnnCertificate } from '../../certify/proof/vnnVerifier.ts';
import { parseVnnlib } from '../../formats/vnnlib/parse.ts';
import type { Model } from '../../model.ts';
import { readBytes } from '../files.ts';
import { loadModelFile } from '../loadModelFile.ts';
import type { IO } from '../io.ts';

/** Largest certificate file read (bytes). */
const MAX_CERT_BYTES = 256 * 1024 * 1024;

export function readCertificateFile(path: string): unknown {
  const bytes = readBytes(path, 'certificate file');
  if (bytes.length > MAX_CERT_BYTES) {
    throw new NetinvertError('file_too_large', `${path}: ${bytes.length} bytes is above the ${MAX_CERT_BYTES}-byte certificate limit`, { file: path });
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new NetinvertError('bad_certificate', `${path}: not JSON (${(e as Error).message}); pass the file written by solve --certificate`, { file: path });
  }
}

export function checkCertificateCommand(modelPath: string, certPath: string, opts: { meta?: string; json?: boolean; vnnlib?: string }, io: IO): number {
  const model = loadModelFile(modelPath, opts.meta);
  const cert = readCertificateFile(certPath);
  if (isVnnCertificateLike(cert)) return checkVnn(model, modelPath, cert, certPath, opts, io);
  if (opts.vnnlib !== undefined) {
    throw new NetinvertError('bad_usage', `${certPath} is not an unsat certificate of netinvert verify, so --vnnlib does not apply; drop --vnnlib to check a solve --certificate proof`, { file: certPath });
  }
  const v = verifyCertificate(model, cert);
  if (opts.json) {
    io.out(JSON.stringify({ ...v, query: v.valid ? (cert as Certificate).query : undefined, claim: v.valid ? (cert as Certificate).claim : undefined }, null, 2));
    return v.valid ? 0 : 1;
  }
  const lines: string[] = [`certificate: ${certPath}`, `model: ${modelPath} (${model.hash})`];
  const c = cert as Partial<Certificate>;
  // describe what it claims when the query part is readable (even if the proof is not)
  if (c && typeof c === 'object' && c.query && typeof c.query === 'object') {
    try {
      lines.push(...describeCertificateQuery(c as Certificate));
    } catch {
      // a malformed query: the verdict below says why
    }
  }
  if (v.valid) {
    lines.push(`valid: ${v.reason}${v.independent ? ', all by the independent verifier' : ''}`);
    io.out(lines.join('\n'));
    return 0;
  }
  lines.push(`invalid: ${v.reason}`);
  io.out(lines.join('\n'));
  return 1;
}

/** Largest VNNLIB file read (bytes). */
const MAX_VNNLIB_BYTES = 64 * 1024 * 1024;

function checkVnn(model: Model, modelPath: string, cert: unknown, certPath: string, opts: { json?: boolean; vnnlib?: string }, io: IO): number {
  if (opts.vnnlib === undefined) {
    throw new NetinvertError('bad_usage', `${certPath} is an unsat certificate of a VNNLIB property; name the property too: netinvert check-certificate ${modelPath} ${certPath} --vnnlib PROPERTY.vnnlib`, { file: certPath });
  }
  const bytes = readBytes(opts.vnnlib, 'VNNLIB property file', MAX_VNNLIB_BYTES);
  const spec = parseVnnlib(new TextDecoder().decode(bytes), opts.vnnlib);
  const v = verifyVnnCertificate(model, spec, cert);
  if (opts.json) {
    io.out(JSON.stringify({ valid: v.ok, reason: v.ok ? 'unsat: every leaf box refutes every unsafe clause' : v.reason, leaves: v.leaves, seconds: v.seconds, byMethod: v.byMethod }, null, 2));
    return v.ok ? 0 : 1;
  }
  const lines = [`certificate: ${certPath} (VNNLIB unsat proof)`, `model: ${modelPath} (${model.hash})`, `property: ${opts.vnnlib} (${spec.inputBoxes.length} input box(es), ${spec.outputDnf.length} unsafe clause(s))`];
  if (v.ok) lines.push(`valid: unsat, ${v.leaves} leaf box(es) re-checked by the independent verifier in ${v.seconds.toFixed(2)} s`);
  else lines.push(`invalid: ${v.reason}`);
  io.out(lines.join('\n'));
  return v.ok ? 0 : 1;
}
