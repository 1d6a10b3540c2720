// --space-options: a space's configuration as JSON on the command line, the
// same keys as `space.options` in an experiment config (its kit's optionKeys).
import { TsnasError, usageError } from '../errors.js';
import { getKit, getSpace, kitNames, type SpaceOptions } from '../kits/index.js';

/** Parses and checks --space-options (by building the space); undefined when the flag is absent. */
export function parseSpaceOptions(text: string | undefined, space: string): SpaceOptions | undefined {
  if (text === undefined) return undefined;
  const known = getKit(space).optionKeys;
  if (known.length === 0) {
    throw usageError(`the ${space} space has no options (${kitNames((k) => k.optionKeys.length > 0).join(', ')} have)`, '--space-options');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw usageError(`expected a JSON object, got '${text}' (${(e as Error).message})`, '--space-options');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw usageError(`expected a JSON object, got '${text}'`, '--space-options');
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw usageError(`unknown option '${key}' of the ${space} space, expected one of ${known.join(', ')}`, '--space-options');
  }
  const options: SpaceOptions = { [space]: value };
  try {
    getSpace(space, options);
  } catch (e) {
    if (e instanceof TsnasError) throw usageError(e.message, '--space-options');
    throw e;
  }
  return options;
}
