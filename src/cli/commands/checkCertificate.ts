/**
 * `netinvert check-certificate MODEL CERT.json`: re-check a proof with the independent verifier.
 * Prints the query the certificate proves, then "valid" (exit 0) or "invalid: <reason>" (exit 1).
 * Anyone can audit a claim this way: the verifier trusts nothing in the certificate but its
 * boxes, and re-derives every bound from the model.
 */
import { NetinvertError } from '../../errors.ts';
import { describeCertificateQuery, verifyCertificate, type Certificate } from '../../certify/proof/certificate.ts';
import { loadModelFile, readBytes } from '../loadModelFile.ts';
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

export function checkCertificateCommand(modelPath: string, certPath: string, opts: { meta?: string; json?: boolean }, io: IO): number {
  const model = loadModelFile(modelPath, opts.meta);
  const cert = readCertificateFile(certPath);
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
