import type { EnvironmentVariables } from './app-config';
import { requireS3InProduction } from './backup-settings';
import { ConfigError } from './config-error';

/**
 * What `NODE_ENV=production` refuses to start without: no generated secrets, no development key,
 * no guessed public URL, and the S3 settings while backups are on.
 */
export function requireProductionSettings(source: NodeJS.ProcessEnv, env: EnvironmentVariables): void {
  const missing = [
    'DATABASE_URL',
    'REDIS_URL',
    'PADDOCK_ADMIN_TOKEN',
    'PADDOCK_ENCRYPTION_KEY',
    'PADDOCK_PUBLIC_URL',
  ].filter((name) => !source[name]);
  if (missing.length > 0) {
    throw new ConfigError(`NODE_ENV=production requires ${missing.join(', ')}`);
  }
  requireS3InProduction(source, env);
}
