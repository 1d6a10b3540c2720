// Pictures: the SVG is well-formed XML (checked by a small strict parser
// below) and both SVG and DOT show every node and op-labelled edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/random.js';
import { DARTS_V2_TEXT, dartsSpace, nb201Space } from '../spaces/index.js';
import { getSpace, kitNames } from '../kits/index.js';
import { cellsToSvg, sampleToDot, sampleToSvg } from './index.js';

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** A strict parser for the XML subset SVG needs; throws on anything malformed. */
function parseXml(xml: string): XmlElement {
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${pos}: ${JSON.stringify(xml.slice(pos, pos + 30))}`);
  };
  const checkText = (t: string) => {
    if (t.includes('<')) fail('raw < in text');
    for (const m of t.matchAll(/&([^;]*);?/g)) {
      if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(m[0])) fail(`bad entity ${m[0]}`);
    }
    return t;
  };
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(xml[pos] ?? '')) pos++;
      if (xml.startsWith('<?', pos)) {
        const end = xml.indexOf('?>', pos);
        if (end < 0) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (xml.startsWith('<!--', pos)) {
        const end = xml.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else return;
    }
  };
  const name = () => {
    const m = /^[A-Za-z_:][A-Za-z0-9_.:-]*/.exec(xml.slice(pos));
    if (!m) fail('expected a name');
    pos += m![0].length;
    return m![0];
  };
  const element = (): XmlElement => {
    if (xml[pos] !== '<') fail('expected <');
    pos++;
    const el: XmlElement = { name: name(), attributes: {}, children: [], text: '' };
    for (;;) {
      const before = pos;
      while (/\s/.test(xml[pos] ?? '')) pos++;
      if (xml.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (xml[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail('expected whitespace before an attribute');
      const attr = name();
      if (attr in el.attributes) fail(`duplicate attribute ${attr}`);
      if (xml[pos] !== '=') fail('expected =');
      pos++;
      const quote = xml[pos];
      if (quote !== '"' && quote !== "'") fail('expected a quoted value');
      const end = xml.indexOf(quote!, pos + 1);
      if (end < 0) fail('unterminated attribute');
      el.attributes[attr] = checkText(xml.slice(pos + 1, end));
      pos = end + 1;
    }
    for (;;) {
      const next = xml.indexOf('<', pos);
      if (next < 0) fail(`unclosed <${el.name}>`);
      el.text += checkText(xml.slice(pos, next));
      pos = next;
      if (xml.startsWith('</', pos)) {
        pos += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        while (/\s/.test(xml[pos] ?? '')) pos++;
        if (xml[pos] !== '>') fail('expected >');
        pos++;
        return el;
      }
      if (xml.startsWith('<!--', pos)) {
        skipMisc();
        continue;
      }
      el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== xml.length) fail('content after the root element');
  return root;
}

const all = (el: XmlElement): XmlElement[] => [el, ...el.children.flatMap(all)];

test('the XML checker itself rejects malformed documents', () => {
  assert.doesNotThrow(() => parseXml('<?xml version="1.0"?><a x="1"><b/>t &amp; u</a>'));
  for (const bad of ['<a><b></a></b>', '<a x=1/>', '<a>&nope;</a>', '<a>1 < 2</a>', '<a/><b/>', '<a x="1" x="2"/>', '<a>']) {
    assert.throws(() => parseXml(bad), Error, bad);
  }
});

test('nb201 SVG is well-formed and shows the nodes and non-none ops', () => {
  const nb = nb201Space();
  const s = nb.parse('|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|');
  const root = parseXml(sampleToSvg(nb, s));
  assert.equal(root.name, 'svg');
  assert.equal(root.attributes.xmlns, 'http://www.w3.org/2000/svg');
  const texts = all(root).filter((e) => e.name === 'text').map((e) => e.text);
  for (const label of ['0', '1', '2', '3', 'nor_conv_3x3', 'avg_pool_3x3', 'nor_conv_1x1']) assert.ok(texts.includes(label), label);
  assert.equal(texts.filter((t) => t === 'skip_connect').length, 2);
  assert.ok(!texts.includes('none'));
  assert.equal(all(root).filter((e) => e.name === 'path' && e.attributes['marker-end']).length, 5);
  const withNone = parseXml(sampleToSvg(nb, s, { showNone: true }));
  assert.ok(all(withNone).some((e) => e.name === 'text' && e.text === 'none'));
});

test('darts SVG and DOT show both cells with their 8 op edges each', () => {
  const d = dartsSpace();
  const s = d.parse(DARTS_V2_TEXT);
  const root = parseXml(sampleToSvg(d, s, { title: 'DARTS <V2> & co' }));
  const texts = all(root).filter((e) => e.name === 'text').map((e) => e.text);
  assert.ok(texts.includes('DARTS &lt;V2&gt; &amp; co'));
  assert.ok(texts.includes('normal') && texts.includes('reduce') && texts.includes('c_{k-1}'));
  assert.equal(texts.filter((t) => t === 'sep_conv_3x3').length, 5);
  assert.equal(all(root).filter((e) => e.name === 'g').length, 2);
  const dot = sampleToDot(d, s);
  assert.match(dot, /^digraph cell \{/);
  assert.match(dot, /subgraph cluster_0 \{\n {4}label="normal";/);
  assert.equal((dot.match(/label="sep_conv_3x3"/g) ?? []).length, 5);
  assert.equal((dot.match(/style=dashed/g) ?? []).length, 8);
  assert.equal((dot.match(/->/g) ?? []).length, 2 * (8 + 4));
  assert.ok(dot.trimEnd().endsWith('}'));
});

test('every built-in space draws well-formed SVG and DOT, odd labels escaped', () => {
  const rng = new Rng(2);
  for (const name of kitNames()) {
    const space = getSpace(name);
    for (let i = 0; i < 5; i++) {
      const s = space.sample(rng);
      assert.doesNotThrow(() => parseXml(sampleToSvg(space, s)), name);
      assert.match(sampleToDot(space, s), /->/);
    }
  }
  const tricky = cellsToSvg([
    {
      name: 'q"<&>\'',
      nodes: [
        { id: 0, label: '<in>', role: 'input' },
        { id: 1, label: 'out & "x"', role: 'output' },
      ],
      edges: [{ from: 0, to: 1, op: "a<b>&'c'" }],
      ops: ["a<b>&'c'"],
    },
  ]);
  const root = parseXml(tricky);
  assert.ok(all(root).some((e) => e.text === 'a&lt;b&gt;&amp;&apos;c&apos;'));
});
