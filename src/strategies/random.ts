// Random search: uniform samples of the space, never the same one twice.
import type { Sample, SearchSpace } from '../spaces/types.js';
import { BaseStrategy, type BaseOptions } from './base.js';

export class RandomSearch extends BaseStrategy {
  readonly name = 'random';

  constructor(space: SearchSpace, options: BaseOptions = {}) {
    super(space, options);
  }

  protected propose(): Sample {
    return this.freshRandom();
  }
}
