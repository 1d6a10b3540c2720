// Tests whose results must not depend on the thread count (resume equals an
// uninterrupted run bit for bit) pin libtorch to one thread for their file.
import { after, before } from 'node:test';
import { getNumThreads, setNumThreads } from '../tensor/index.js';

export function oneThreadInThisFile(): void {
  let threads = 1;
  before(() => {
    threads = getNumThreads();
    setNumThreads(1);
  });
  after(() => setNumThreads(threads));
}
