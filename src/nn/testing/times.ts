// A parameter-free toy Module for tests: x·k. Candidates of a mixed edge
// built from it have outputs and gradients one can write down by hand.
import type { Tensor } from '../../tensor/index.js';
import { Module } from '../module.js';

export class Times extends Module {
  constructor(readonly k: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.mul(this.k);
  }
}
