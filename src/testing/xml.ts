// A small well-formedness check of SVG and XML text without an XML library.
import assert from 'node:assert/strict';

/** Every start tag is closed in order, and no ampersand is bare. */
export function assertBalancedXml(text: string): void {
  const body = text.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the open element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(body), 'no bare ampersands');
}
