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
