import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';

/** The CA file must exist and hold a certificate, or the API does not start. */
export function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`PADDOCK_PUBLIC_CA_FILE cannot be read: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError('PADDOCK_PUBLIC_CA_FILE must hold a PEM certificate');
  return pem;
}
