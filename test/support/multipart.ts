/** Builds multipart/form-data bodies by hand, so tests control every byte a hostile client sends. */
import { randomBytes } from 'node:crypto';

export interface Part {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer | string;
}

export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----bastion${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const head = [`--${boundary}`, `Content-Disposition: ${disposition}`];
    if (p.contentType) head.push(`Content-Type: ${p.contentType}`);
    chunks.push(Buffer.from(`${head.join('\r\n')}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** One image upload in the field the contract names (`file`). */
export function imageUpload(data: Buffer, filename = 'image.png', contentType = 'image/png') {
  return multipart([{ name: 'file', filename, contentType, data }]);
}
