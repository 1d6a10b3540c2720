// Hostile and mistaken command lines, one table: each exits with the given
// code, names the culprit, and prints no stack trace. A new command or flag
// joins the table (issue 17 keeps growing this corpus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsnas } from '../testing/cli.js';

test('hostile inputs: exit 2, the culprit named, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-hostile-'));
  try {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    const comments = join(dir, 'comments.yaml');
    writeFileSync(comments, '# nothing but a comment\n\n');
    const store = `sqlite:${join(dir, 'none.db')}`;
    const dup = join(dir, 'dup.yaml');
    writeFileSync(dup, 'name: a\nbudget: {trials: 3}\nbudget: {trials: 4}\n');
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, Array.from({ length: 120_000 }, (_, i) => `k${i}: ${i}`).join('\n'));
    const bomb = join(dir, 'bomb.yaml');
    const row = (alias: string, n: number) => `[${Array(n).fill(`*${alias}`).join(', ')}]`;
    writeFileSync(bomb, `a: &a [1, 2]\nb: &b ${row('a', 10)}\nc: &c ${row('b', 10)}\nd: &d ${row('c', 10)}\ne: ${row('d', 100)}\n`);
    const cases: [string[], RegExp][] = [
      [['space', 'info', '--space', 'nb201', 'extra'], /extra: expected no arguments besides flags, got 'extra'/],
      [['ls', 'extra', '--storage', store], /extra: expected no arguments besides flags/],
      [['show', '--storage', store], /NAME: expected one NAME, got none/],
      [['show', 'a', 'b', '--storage', store], /NAME: expected one NAME, got 'a' 'b'/],
      [['init', 'a.yaml', 'b.yaml'], /FILE: expected at most 1 FILE/],
      [['search', '--seed', '0x10', '--check'], /--seed: expected an integer >= 0 and <= 4294967295, found "0x10"/],
      [['search', '--seed', '4294967296', '--check'], /--seed: expected an integer >= 0 and <= 4294967295, found 4294967296/],
      [['train', '--seed', '0x10'], /--seed: expected an integer, got '0x10'/],
      [['train', '--seed', '99999999999'], /--seed: expected a value <= 4294967295/],
      [['search', '--config', empty, '--check'], /empty\.yaml: the config file is empty/],
      [['search', '--config', comments, '--check'], /comments\.yaml: the config file is empty/],
      [['search', '--name', '..', '--check'], /--name: expected a name of letters, digits, _ \. - starting with a letter or digit/],
      [['search', '--strategy.options.population', 'abc', '--check'], /--strategy\.options\.population: expected an integer >= 1/],
      [['search', '--strategy.options.nosuch', '1', '--check'], /strategy\.options\.nosuch: unknown key/],
      [['show', 'x', '--storage', store], /--storage: no tsnas store at/],
      [['rm', 'x', '--storage', store], /--storage: no tsnas store at/],
      [['search', '--budget', '1e11', '--check'], /--budget: expected an integer >= 1 and <= 10000000/],
      [['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--seeds', '0-1000000000'], /--seeds: 1000000001 seeds, at most 100000 in one run/],
      [['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--budget', '100000000000'], /--budget: expected a value <= 15625/],
      [['search', '--budget', '2', '--storage', 'sqlite:/proc/tsnas-x/y.db'], /--storage: cannot create the store's directory \/proc\/tsnas-x/],
      [['search', '--budget', '2', '--quiet', '--storage', 'sqlite:/proc/tsnas-x.db'], /--storage: cannot write to the store \/proc\/tsnas-x\.db \(SQLITE_CANTOPEN: .*\): the file or its directory is read-only/],
      [['search', '--config', dup, '--check'], /dup\.yaml: the key "budget" appears twice in one mapping \(line 3\)/],
      [['search', '--config', huge, '--check'], /huge\.yaml: is \d+ bytes, more than a config may be/],
      [['search', '--config', bomb, '--check'], /bomb\.yaml: cannot parse: .*alias/i],
    ];
    for (const [args, message] of cases) {
      const r = runTsnas(args);
      const what = `tsnas ${args.join(' ')}\n${r.stderr}`;
      assert.equal(r.code, 2, what);
      assert.match(r.stderr, message, what);
      assert.doesNotMatch(r.stderr, /^\s+at |node:internal/m, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreachable PostgreSQL server: exit 1, the URL named without its password and a hint, no stack trace', () => {
  for (const url of ['postgresql://me:secret@localhost/db?host=/nonexistent-tsnas-dir&port=5', 'postgresql://me:secret@127.0.0.1:1/db']) {
    for (const args of [['ls'], ['search', '--budget', '2', '--quiet', '--name', 'x']]) {
      const r = runTsnas([...args, '--storage', url]);
      const what = `tsnas ${args.join(' ')} --storage ${url}\n${r.stderr}`;
      assert.equal(r.code, 1, what);
      assert.match(r.stderr, /cannot open PostgreSQL store postgresql:\/\/me:\*\*\*@.*: connect (ENOENT|ECONNREFUSED) .* \(is the server running, and is the URL right\?\)/, what);
      assert.doesNotMatch(r.stderr, /secret|^\s+at |node:internal/m, what);
    }
  }
});
