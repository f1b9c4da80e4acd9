#!/usr/bin/env node
// Runs the compiled test files (dist/**/*.test.js) with Node's own test runner, in two stages:
//   1. every file but the exclusive ones, three at a time (TEST_CONCURRENCY), the reliability
//      files first;
//   2. the exclusive files (test/reliability/postgres-restart: it restarts the Postgres cluster
//      every other test uses), one at a time, with nothing beside them.
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
// Files that stop a service every other test uses (the local Postgres cluster): they run last,
// alone. Everything else has its own database, Redis key prefix (the crash tests' Redis wipes hit
// a database of their own), simulators and ports, so it can share the machine.
const EXCLUSIVE = [join('test', 'reliability', 'postgres-restart.test.js')];
const isExclusive = (file) => EXCLUSIVE.includes(relative(root, file));
const isReliability = (file) => relative(root, file).startsWith(RELIABILITY);
// The reliability files are the longest (a minute-long outage, SIGKILL trials): started first,
// they overlap the many short files instead of running on after them.
const shared = files.filter((f) => !isExclusive(f));
const stages = [
  {
    name: 'shared',
    files: [...shared.filter(isReliability), ...shared.filter((f) => !isReliability(f))],
    concurrency: process.env.TEST_CONCURRENCY ?? '3',
  },
  { name: 'exclusive', files: files.filter(isExclusive), concurrency: '1' },
].filter((stage) => stage.files.length > 0);

let failed = false;
for (const stage of stages) {
  console.log(`# stage ${stage.name}: ${stage.files.length} file(s)`);
  // The timeout only catches a hang: ten minutes, several times the longest file on a busy machine.
  const result = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${stage.concurrency}`, '--test-timeout=600000', ...stage.files],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
