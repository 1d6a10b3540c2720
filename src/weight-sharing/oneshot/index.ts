// The one-shot methods by name, each a factory of a checkpointable run
// (../run.ts). fairnas is SPOS with strict-fair path sampling.
import { createEnasRun } from './enas.js';
import { createOfaRun } from './ofa.js';
import { createFairnasRun, createSposRun } from './spos.js';

export const ONE_SHOT_METHODS = {
  spos: createSposRun,
  fairnas: createFairnasRun,
  enas: createEnasRun,
  ofa: createOfaRun,
} as const;

export type OneShotMethod = keyof typeof ONE_SHOT_METHODS;

export function isOneShotMethod(name: string): name is OneShotMethod {
  return Object.hasOwn(ONE_SHOT_METHODS, name);
}
