import { randomInt, randomUUID } from 'node:crypto';

/** k8s `generateName` suffixes and wrangler random tokens use this alphabet (§1.1). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomChars(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return out;
}

/** A `generateName`-style name (`c-` + 5 chars) that `taken` does not already hold. */
export function generateName(prefix: string, taken: (candidate: string) => boolean): string {
  for (;;) {
    const candidate = prefix + randomChars(5);
    if (!taken(candidate)) return candidate;
  }
}

/** The 54-character secret of an API or kubeconfig token (§1.1). */
export function tokenSecret(): string {
  return randomChars(54);
}

export function uuid(): string {
  return randomUUID();
}
