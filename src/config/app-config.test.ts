import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './app-config';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://db/paddock',
  REDIS_URL: 'redis://redis:6379',
  PADDOCK_ADMIN_TOKEN: 'an-admin-token-of-enough-length-0123',
  PADDOCK_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  PADDOCK_PUBLIC_URL: 'https://paddock.example.test',
};
const S3 = {
  PADDOCK_S3_ENDPOINT: 'https://s3.example.test',
  PADDOCK_S3_ACCESS_KEY_ID: 'access-key-id',
  PADDOCK_S3_SECRET_ACCESS_KEY: 'secret-access-key',
};

describe('backup configuration', () => {
  it('production with backups on refuses to start without the S3 settings, naming them', () => {
    assert.throws(
      () => loadConfig(PRODUCTION),
      (error: unknown) =>
        error instanceof ConfigError &&
        /PADDOCK_S3_ENDPOINT, PADDOCK_S3_ACCESS_KEY_ID, PADDOCK_S3_SECRET_ACCESS_KEY/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ ...PRODUCTION, PADDOCK_S3_ENDPOINT: S3.PADDOCK_S3_ENDPOINT }),
      ConfigError,
    );
  });

  it('production starts with the S3 settings, or with backups off', () => {
    const on = loadConfig({ ...PRODUCTION, ...S3 });
    assert.equal(on.backups?.s3.endpoint, 'https://s3.example.test');
    assert.equal(on.backups?.bucketPrefix, 'paddock-etcd');
    assert.deepEqual(on.backups?.defaults, { intervalHours: 12, retention: 6 });
    assert.equal(loadConfig({ ...PRODUCTION, PADDOCK_BACKUPS: 'off' }).backups, null);
  });

  it('refuses out-of-bounds defaults and a prefix that breaks S3 bucket names', () => {
    for (const bad of [
      { PADDOCK_BACKUP_INTERVAL_HOURS: '0' },
      { PADDOCK_BACKUP_INTERVAL_HOURS: '169' },
      { PADDOCK_BACKUP_RETENTION: '101' },
      { PADDOCK_BACKUP_BUCKET_PREFIX: 'Upper' },
      { PADDOCK_BACKUP_BUCKET_PREFIX: 'a-prefix-far-too-long-for-a-bucket' },
      { PADDOCK_S3_ENDPOINT: 's3.example.test' },
    ])
      assert.throws(() => loadConfig({ ...S3, ...bad }), ConfigError, JSON.stringify(bad));
  });

  it('outside production without an endpoint, backups are off until one is set', () => {
    assert.equal(loadConfig({}).backups, null);
    assert.equal(loadConfig(S3).backups?.bucketOnDelete, 'keep');
  });
});

describe('sync page size', () => {
  it('is 1000 unless PADDOCK_SYNC_PAGE_SIZE names another between 1 and 10,000', () => {
    assert.equal(loadConfig({}).syncPageSize, 1000);
    assert.equal(loadConfig({ PADDOCK_SYNC_PAGE_SIZE: '2' }).syncPageSize, 2);
    assert.equal(loadConfig({ PADDOCK_SYNC_PAGE_SIZE: '10000' }).syncPageSize, 10_000);
  });

  it('refuses a page size Rancher would not serve, naming the setting', () => {
    for (const bad of ['0', '-5', '10001', '2.5', 'many'])
      assert.throws(
        () => loadConfig({ PADDOCK_SYNC_PAGE_SIZE: bad }),
        (error: unknown) => error instanceof ConfigError && /PADDOCK_SYNC_PAGE_SIZE/.test(error.message),
        bad,
      );
  });
});
