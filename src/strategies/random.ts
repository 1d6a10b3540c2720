// Random search: uniform samples of the space, never the same one twice.
import type { Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, optionsSchema, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export class RandomSearch extends BaseStrategy {
  readonly name = 'random';

  constructor(space: SearchSpace, options: BaseOptions = {}) {
    super(space, options);
  }

  protected propose(): Sample {
    return this.freshRandom();
  }
}

export const randomKind = defineStrategy({
  name: 'random',
  multiObjective: false,
  options: optionsSchema({}),
  create: (space, options) => new RandomSearch(space, options),
});
