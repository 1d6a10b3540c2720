// Errors for the spaces' text forms: they name the position, the token
// found there and what was expected, with a caret under the spot.
import { TsnasError } from '../errors.js';

export function tokenError(text: string, position: number, found: string, expected: string, what = 'arch'): TsnasError {
  const shown = found === '' ? 'the end of the text' : `'${found}'`;
  const caret = `${text}\n${' '.repeat(Math.max(0, position))}^`;
  return new TsnasError('usage', `at position ${position + 1}: found ${shown}, expected ${expected}\n${caret}`, { where: what });
}
