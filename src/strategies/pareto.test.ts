import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/random.js';
import { crowdingDistance, dominates, hypervolume2d, nonDominatedSort, paretoFront2d } from './pareto.js';
import { Nsga2 } from './nsga2.js';
import { ToySpace, toyObjectives } from './testing/toy-space.js';

// (accuracy ↑, params ↓)
const maximize = [true, false];
const points = [
  [90, 5], // 0: front 0
  [92, 8], // 1: front 0
  [85, 2], // 2: front 0
  [89, 6], // 3: dominated by 0 -> front 1
  [92, 9], // 4: dominated by 1 -> front 1
  [80, 9], // 5: dominated by 3 and 4 -> front 2
  [90, 5], // 6: equal to 0: neither dominates -> front 0
];

test('dominance', () => {
  assert.ok(dominates([90, 5], [89, 6], maximize));
  assert.ok(!dominates([90, 5], [90, 5], maximize));
  assert.ok(!dominates([92, 8], [90, 5], maximize));
  assert.ok(dominates([1, 1], [2, 2], [false, false]));
});

test('non-dominated sorting matches the hand-computed fronts', () => {
  assert.deepEqual(nonDominatedSort(points, maximize), [[0, 1, 2, 6], [3, 4], [5]]);
});

test('crowding distance matches the hand-computed values', () => {
  // Front [2, 0, 1] sorted by accuracy: 85, 90, 92 (range 7); by params: 2, 5, 8 (range 6).
  // The middle point 0 gets (92-85)/7 + (8-2)/6 = 2; the extremes get Infinity.
  assert.deepEqual(crowdingDistance(points, [2, 0, 1]), [Infinity, 2, Infinity]);
  // Four points on a line: a=(0,0) b=(1,3) c=(3,4) d=(4,8); ranges 4 and 8.
  // b: (3-0)/4 + (4-0)/8 = 1.25; c: (4-1)/4 + (8-3)/8 = 1.375.
  const line = [[0, 0], [1, 3], [3, 4], [4, 8]];
  assert.deepEqual(crowdingDistance(line, [0, 1, 2, 3]), [Infinity, 1.25, 1.375, Infinity]);
});

test('2-D hypervolume matches the hand-computed area', () => {
  // Reference (accuracy 80, params 10). Sorted by "smaller is better": (−92, 8), (−90, 5), (−85, 2).
  // Strips: (92-80)*(10-8) = 24, (90-80)*(8-5) = 30, (85-80)*(5-2) = 15 -> 69.
  assert.equal(hypervolume2d([[90, 5], [92, 8], [85, 2], [89, 6]], [80, 10], maximize), 69);
  assert.equal(hypervolume2d([[79, 1]], [80, 10], maximize), 0);
});

test('NSGA-II returns a non-dominated front of what it was told', () => {
  const space = new ToySpace();
  const s = new Nsga2(space, { seed: 2, population: 8 });
  for (let i = 0; i < 60; i++) {
    const [x] = s.ask(1);
    s.tell(x!, toyObjectives(x!));
  }
  const front = s.paretoFront();
  assert.ok(front.length >= 2);
  for (const f of front) {
    for (const t of s.history()) {
      assert.ok(!dominates([t.objectives.accuracy!, t.objectives.params!], [f.objectives.accuracy!, f.objectives.params!], maximize));
    }
  }
});

test('paretoFront2d finds the same front as nonDominatedSort, in one sweep', () => {
  // Hand-checked: maximise a, minimise b.
  assert.deepEqual(paretoFront2d([[1, 4], [3, 3], [2, 2], [0, 5], [3, 3]], [true, false]), [1, 2]);
  assert.deepEqual(paretoFront2d([], [true, true]), []);
  const rng = new Rng(5);
  for (const maximize of [[true, false], [false, false], [true, true]]) {
    // Integer coordinates so that ties occur.
    const points = Array.from({ length: 300 }, () => [rng.int(40), rng.int(40)]);
    const slow = nonDominatedSort(points, maximize)[0]!;
    const unique = slow.filter((i) => !slow.some((j) => j < i && points[j]![0] === points[i]![0] && points[j]![1] === points[i]![1]));
    assert.deepEqual(paretoFront2d(points, maximize), unique);
  }
});
