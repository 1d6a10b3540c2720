// Progress in logs: a line per 10% or per 30 s when stderr is not a
// terminal (a file, a pipe), redraws only on a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOG_INTERVAL_MS, ProgressBar } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (t: string) => writes.push(t) } };
}

test('not a terminal: a line per 10% and one at the end, however many steps', () => {
  const { writes, stream } = fakeStream(false);
  const bar = new ProgressBar('train', 1000, true, { stream, now: () => 0 });
  for (let i = 0; i < 1000; i++) bar.tick(1, `step ${i}`);
  bar.update(1000); // a repeated end adds nothing
  assert.equal(writes.length, 10);
  assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r')));
  assert.match(writes.at(-1)!, /1000\/1000/);
});

test('not a terminal: a slow phase gets a line every 30 s between the 10% steps', () => {
  const { writes, stream } = fakeStream(false);
  let clock = 0;
  const bar = new ProgressBar('screen', 100, true, { stream, now: () => clock });
  for (let i = 0; i < 9; i++) {
    clock += LOG_INTERVAL_MS / 3;
    bar.tick(); // 9% after 90 s: no 10% step crossed
  }
  assert.equal(writes.length, 3);
  assert.match(writes[0]!, /3\/100 30s/);
});

test('a terminal is redrawn in place', () => {
  const { writes, stream } = fakeStream(true);
  let clock = 0;
  const bar = new ProgressBar('x', 5, true, { stream, now: () => (clock += 200) });
  for (let i = 0; i < 5; i++) bar.tick();
  assert.equal(writes.length, 5);
  assert.ok(writes.every((w) => w.startsWith('\r')));
  assert.ok(writes.at(-1)!.endsWith('\n'));
});

test('a child process whose stderr is a pipe logs lines, not redraws', () => {
  const progress = fileURLToPath(new URL('./progress.js', import.meta.url));
  const script = `const { ProgressBar } = await import(${JSON.stringify(progress)});
    const bar = new ProgressBar('steps', 5000);
    for (let i = 0; i < 5000; i++) bar.tick(1, 'step ' + i);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stderr.includes('\r'), 'no carriage returns in a log');
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 10 && lines.length <= 12, `${lines.length} lines`);
  assert.match(lines.at(-1)!, /^steps \[#+\] 5000\/5000/);
});
