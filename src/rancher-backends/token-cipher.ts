import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A short, non-secret fingerprint of a key, stored beside each sealed value. */
const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

/**
 * Backend tokens at rest: AES-256-GCM. A sealed value names the key that sealed it
 * (`v1.<key id>.<iv>.<tag>.<ciphertext>`), so a key can be rotated: set the new key as current,
 * keep the old one among the previous keys until every value is re-sealed (the worker's sweeper
 * does that), then drop it.
 */
export class TokenCipher {
  private readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new Error('encryption keys must be 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.currentId = keyId(current);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v1',
      this.currentId,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      sealed.toString('base64'),
    ].join('.');
  }

  open(value: string): string {
    const [version, id, iv, tag, sealed] = value.split('.');
    if (version !== 'v1' || !id || !iv || !tag || sealed === undefined)
      throw new Error('unrecognised sealed token');
    const key = this.keys.get(id);
    if (!key) throw new Error(`sealed with key ${id}, which is neither the current nor a previous key`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
  }

  /** True when the value was sealed under an older key and should be sealed again. */
  isStale(value: string): boolean {
    return value.split('.')[1] !== this.currentId;
  }
}
