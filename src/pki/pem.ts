// PEM framing: splitting bundles into blocks and converting between PEM and DER.
import { InvalidCertificate } from './errors';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Every PEM block in `text`, in order; text between blocks (comments, `openssl` output headers) is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    blocks.push({ label: match[1] ?? '', der: Buffer.from((match[2] ?? '').replace(/\s+/g, ''), 'base64') });
  }
  return blocks;
}

/** Splits a bundle of certificates into one normalised PEM string per certificate. */
export function splitPemCertificates(text: string): string[] {
  return pemBlocks(text)
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block) => derToPem(block.der, 'CERTIFICATE'));
}

export function derToPem(der: Buffer, label: string): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first block labelled `label`; throws when there is none. */
export function pemToDer(text: string, label: string): Buffer {
  const block = pemBlocks(text).find((candidate) => candidate.label === label);
  if (block === undefined) throw new InvalidCertificate(`no "${label}" PEM block found`);
  return block.der;
}

/** The same certificate regardless of line endings and surrounding text, for equality checks. */
export function normalizeCertificatePem(text: string): string {
  return derToPem(pemToDer(text, 'CERTIFICATE'), 'CERTIFICATE');
}
