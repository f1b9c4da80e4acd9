#!/usr/bin/env node
// Runs the compiled test files (dist/**/*.test.js) with Node's own test runner, in two stages:
//   1. everything but test/reliability/, two files at a time;
//   2. test/reliability/, one file at a time: those tests restart shared services (Postgres),
//      kill workers and wipe Redis, so nothing else may run beside them.
// Node 20's `--test` takes no globs, so the files are listed here. Arguments narrow the run to
// files whose path contains one of them (`npm test -- test/sim/` runs the simulator's tests only).
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..', 'dist');
const filters = process.argv.slice(2);
const RELIABILITY = join('test', 'reliability');

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
  .filter((file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const isReliability = (file) => relative(root, file).startsWith(RELIABILITY);
const stages = [
  {
    name: 'main',
    files: files.filter((f) => !isReliability(f)),
    concurrency: process.env.TEST_CONCURRENCY ?? '2',
  },
  { name: 'reliability', files: files.filter(isReliability), concurrency: '1' },
].filter((stage) => stage.files.length > 0);

let failed = false;
for (const stage of stages) {
  console.log(`# stage ${stage.name}: ${stage.files.length} file(s)`);
  const result = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${stage.concurrency}`, '--test-timeout=300000', ...stage.files],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
