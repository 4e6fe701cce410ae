// Reading and writing the CA's PEM files: one error type naming the file and problem, and atomic owner-only writes.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidCertificate, certInfo, derToPem, parseX509, splitPemCertificates } from '../../pki';

export type CaFileProblem =
  | 'CA_FILE_MISSING'
  | 'CA_KEY_MISSING'
  | 'CA_FILE_UNREADABLE'
  | 'CA_KEY_MISMATCH'
  | 'CA_NOT_A_CA'
  | 'CA_EXPIRED'
  | 'CA_NOT_YET_VALID'
  | 'CA_CHAIN_BROKEN';

/** A CA file that is missing, unreadable or unusable; `file` is the path at fault and the message says why. */
export class CaFileError extends Error {
  constructor(
    readonly code: CaFileProblem,
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
    this.name = 'CaFileError';
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new CaFileError('CA_FILE_UNREADABLE', file, `cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Every certificate in `file`, at least one, each parsed. */
export async function readCertificates(file: string): Promise<{ pems: string[]; certs: crypto.X509Certificate[] }> {
  const pems = splitPemCertificates(await readText(file));
  if (pems.length === 0) throw new CaFileError('CA_FILE_UNREADABLE', file, 'holds no PEM "CERTIFICATE" block');
  try {
    return { pems, certs: pems.map(parseX509) };
  } catch (error) {
    const reason = error instanceof InvalidCertificate ? error.message : String(error);
    throw new CaFileError('CA_FILE_UNREADABLE', file, `holds a certificate that cannot be parsed (${reason})`, { cause: error });
  }
}

export async function readPrivateKey(file: string): Promise<{ pem: string; key: crypto.KeyObject }> {
  const pem = await readText(file);
  try {
    return { pem, key: crypto.createPrivateKey(pem) };
  } catch (error) {
    throw new CaFileError('CA_FILE_UNREADABLE', file, 'is not a PEM private key (PKCS#8, PKCS#1 or SEC1)', { cause: error });
  }
}

/** Checks that `cert` (from `certFile`) can sign now with `key` (from `keyFile`). */
export function checkSigningPair(certFile: string, cert: crypto.X509Certificate, keyFile: string, key: crypto.KeyObject, now: Date): void {
  if (!cert.checkPrivateKey(key)) throw new CaFileError('CA_KEY_MISMATCH', keyFile, `does not match the public key of ${certFile}`);
  checkCaCertificate(certFile, cert, now);
}

/** Checks that `cert` (from `file`) is a CA certificate valid at `now`. */
export function checkCaCertificate(file: string, cert: crypto.X509Certificate, now: Date): void {
  if (!cert.ca) {
    throw new CaFileError('CA_NOT_A_CA', file, 'is not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot sign workload certificates');
  }
  const { notBefore, notAfter } = certInfo(derToPem(cert.raw, 'CERTIFICATE'));
  if (now > notAfter) throw new CaFileError('CA_EXPIRED', file, `expired on ${notAfter.toISOString()}; replace it with a valid CA certificate`);
  if (now < notBefore) throw new CaFileError('CA_NOT_YET_VALID', file, `is not valid until ${notBefore.toISOString()}; check this host's clock`);
}

/** Writes through a temporary file and a rename, so readers never see half a key; `mode` is applied before the rename. */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temporary, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}
