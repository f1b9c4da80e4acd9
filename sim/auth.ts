/**
 * Token checks of `GetTokenAuthFromRequest` (§1.2): Bearer first, then Basic with the access and
 * secret key. Every failure ends in the same 401 (§1.3), so this only answers yes or no.
 */
export function isAuthenticated(header: string | undefined, tokens: ReadonlySet<string>): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return tokens.has(value);
  if (scheme === 'basic') {
    const decoded = decodeGoUrlBase64(value);
    return decoded !== undefined && tokens.has(decoded);
  }
  return false;
}

/**
 * Go's `base64.URLEncoding.DecodeString`: URL-safe alphabet, padding required. A standard base64
 * value containing `+` or `/` fails, which real clients trip over (§1.2).
 */
export function decodeGoUrlBase64(value: string): string | undefined {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64url').toString('utf8');
}
