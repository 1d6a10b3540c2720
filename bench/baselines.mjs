// What bench/step-ratio.mjs and bench/op_cpu.mjs share: the PyTorch eager
// baseline of each `tsnas bench step` workload (script, default steps and
// batch), their `--name value` flag reading, and the median.
export const BASELINES = {
  nb201: { script: ['bench/pytorch_nb201_step.py'], steps: '10', batch: '64' },
  proxies: { script: ['bench/pytorch_proxies.py'], steps: '3', batch: '64' },
  darts1: { script: ['bench/pytorch_darts_step.py', '--order', '1'], steps: '3', batch: '32' },
  darts2: { script: ['bench/pytorch_darts_step.py', '--order', '2'], steps: '3', batch: '32' },
};

export const readFlags = (argv) =>
  Object.fromEntries(argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
