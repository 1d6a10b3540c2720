// Every CLI command, in the order `tsnas --help` lists them. A command's
// module is imported only when it runs: listing the commands, and the
// commands that compute nothing, never load what the others import.
// (grammar.test.ts checks that each summary is its command's own.)
import type { Command } from '../command.js';

export interface CommandEntry {
  /** e.g. 'train' or 'space info' (words after `tsnas`). */
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

async function spaceCommand(name: string): Promise<Command> {
  return (await import('./space.js')).spaceCommands.find((c) => c.name === name)!;
}

export const commands: readonly CommandEntry[] = [
  { name: 'main', summary: 'the main job (npm start): search Fashion-MNIST (proxies, successive halving, final training), report and weights', load: async () => (await import('./main.js')).mainCommand },
  { name: 'fit', summary: 'search and train an image classifier on a dataset within a time limit (folder:dir, fashion-mnist, cifar10:dir); writes the model for predict', load: async () => (await import('./fit.js')).fitCommand },
  { name: 'predict', summary: 'the top classes of image files (PNG, JPEG, PGM/PPM) by a model of tsnas fit', load: async () => (await import('./predict.js')).predictCommand },
  { name: 'train', summary: 'train one architecture of a space and report its test accuracy', load: async () => (await import('./train.js')).trainCommand },
  { name: 'scale', summary: 'EfficientNet compound scaling of an architecture: grid search of depth, width and resolution multipliers, then the trained family φ = 0…3', load: async () => (await import('./scale.js')).scaleCommand },
  { name: 'bench step', summary: 'time one step of a workload (median after 2 warm-up steps)', load: async () => (await import('./bench.js')).benchStepCommand },
  { name: 'bench latency', summary: 'measure a latency lookup table of a space\'s edge operations on this runtime (for --cost latency:<file>)', load: async () => (await import('./bench.js')).benchLatencyCommand },
  { name: 'bench search', summary: 'compare multi-trial strategies on a tabular benchmark over many seeds (JSON summary; nothing stored)', load: async () => (await import('./bench-search.js')).benchSearchCommand },
  { name: 'search', summary: 'run or resume a stored experiment (flags, --config exp.yaml, or both)', load: async () => (await import('./search.js')).searchCommand },
  { name: 'proxies', summary: 'zero-cost proxy scores of NAS-Bench-201 cells (and their rank correlation with the benchmark)', load: async () => (await import('./proxies.js')).proxiesCommand },
  { name: 'init', summary: 'write a commented example experiment config (default exp.yaml)', load: async () => (await import('./init.js')).initCommand },
  { name: 'schema', summary: 'write the JSON Schema of experiment configs (stdout, or --out tsnas.schema.json) for editors to complete and check exp.yaml', load: async () => (await import('./schema.js')).schemaCommand },
  { name: 'ls', summary: 'list the experiments of a store', load: async () => (await import('./ls.js')).lsCommand },
  { name: 'show', summary: 'show one experiment: counts by state, best trials, Pareto front, best architecture', load: async () => (await import('./show.js')).showCommand },
  { name: 'rm', summary: 'delete an experiment from a store (with --yes)', load: async () => (await import('./rm.js')).rmCommand },
  { name: 'report', summary: 'write an experiment report (report.html with SVG charts; --png needs chromium)', load: async () => (await import('./report.js')).reportCommand },
  { name: 'darts', summary: 'a weight-sharing search: tsnas search --strategy M (here --method M, default darts)', load: async () => (await import('./darts.js')).dartsCommand },
  { name: 'space info', summary: 'a space\'s dimensions, exact size and the formula that gives it', load: async () => spaceCommand('space info') },
  { name: 'space sample', summary: 'random samples of a space with their parameters and FLOPs', load: async () => spaceCommand('space sample') },
  { name: 'space cost', summary: 'an architecture\'s parameters and FLOPs (multiply-adds of conv and linear layers), without training', load: async () => spaceCommand('space cost') },
  { name: 'space draw', summary: 'draw an architecture\'s cells as SVG, or Graphviz DOT when --out ends in .dot or .gv', load: async () => spaceCommand('space draw') },
  { name: 'dashboard', summary: 'serve a live web dashboard of the experiments in a store (until Ctrl-C)', load: async () => (await import('./dashboard.js')).dashboardCommand },
  { name: 'export', summary: "write a sample's trained fixed network as ONNX (dynamic batch), checked in onnxruntime, and optionally a web page running it", load: async () => (await import('./export.js')).exportCommand },
  { name: 'worker', summary: 'run trials of pgboss-queued experiments (tsnas search with execution.queue pgboss) from a PostgreSQL store', load: async () => (await import('./worker.js')).workerCommand },

];
