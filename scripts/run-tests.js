#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's own test runner.
// Node 20's `--test` takes no globs, so the files are listed here; extra arguments narrow the run
// to files whose path contains one of them (`npm test -- sim/` runs the simulator's tests only).
// The reliability suite (test/reliability/) restarts shared services, so it runs only when named
// (`npm run test:reliability`), one file at a time.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..', 'dist');
const filters = process.argv.slice(2);

function collect(dir, out) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = collect(root, [])
  .filter((file) =>
    filters.length === 0
      ? !relative(root, file).startsWith(join('test', 'reliability'))
      : filters.some((f) => relative(root, file).includes(f)),
  )
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
