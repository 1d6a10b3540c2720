// One experiment, one running process: a run holds the experiment's lease
// in the store (owner HOST:PID:RANDOM, renewed every quarter of its expiry)
// for as long as it runs. A second `tsnas search` of the same experiment is
// refused (exit 2) with the holder's host, pid and last heartbeat, instead of
// putting the first one's running trials back to pending. A dead holder is
// replaced at once when it ran on this host (its pid is gone), from any host
// once its lease expired. Extra machines join a run as `tsnas worker`s
// (execution.queue pgboss), never as a second coordinator.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TsnasError } from '../errors.js';
import type { Experiment, Lease, Store } from '../store/types.js';

/** A lease not renewed for this long may be taken by another host. */
export const DEFAULT_LEASE_MS = 60_000;

export interface ExperimentLease {
  /** Throws once another process took the lease over (this one was presumed dead): the run must stop writing. */
  check(): void;
  /** Stops renewing and gives the lease up (errors ignored: an unreleased lease expires, or is replaced once its pid is gone). */
  release(): Promise<void>;
}

/** Owners of the leases this process holds now (a lease of this pid not among them was left by an earlier run). */
const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a lease's holder is known to be dead: it ran on this host and its process is gone. */
function holderIsDead(lease: Lease): boolean {
  if (lease.host !== hostname()) return false;
  return lease.pid === process.pid ? !heldHere.has(lease.owner) : !processAlive(lease.pid);
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/** Takes the experiment's lease and keeps renewing it; a usage error naming the live holder when another process runs it. */
export async function takeExperimentLease(store: Store, experiment: Experiment, expireMs = DEFAULT_LEASE_MS): Promise<ExperimentLease> {
  const host = hostname();
  const holder = { owner: `${host}:${process.pid}:${randomBytes(4).toString('hex')}`, host, pid: process.pid };
  let result = await store.acquireLease(experiment.id, holder, { expireMs });
  if (!result.acquired && holderIsDead(result.lease)) result = await store.acquireLease(experiment.id, holder, { expireMs, replacing: result.lease.owner });
  if (!result.acquired) {
    const { lease, expiresInMs } = result;
    const beat = Math.max(0, expireMs - expiresInMs);
    throw new TsnasError(
      'usage',
      `experiment '${experiment.name}' is being run by another process: pid ${lease.pid} on host ${lease.host}, last heartbeat ${seconds(beat)} ago. ` +
        `Wait for it to end or stop it (Ctrl-C); if it died, the same command takes over at once on host ${lease.host}, or from any host once its lease expires (in ${seconds(expiresInMs)}, ${seconds(expireMs)} after its last heartbeat)`,
    );
  }
  heldHere.add(holder.owner);
  let lost = false;
  const timer = setInterval(() => {
    store.renewLease(experiment.id, holder.owner).then(
      (held) => {
        if (!held) lost = true;
      },
      // A store outage shorter than the expiry is ridden out; the run's own writes report a longer one.
      () => {},
    );
  }, Math.max(50, Math.floor(expireMs / 4)));
  timer.unref();
  return {
    check() {
      if (lost) {
        throw new TsnasError('state', `experiment '${experiment.name}': another process took its lease over (this one did not renew it for ${seconds(expireMs)}); stopping without writing more`);
      }
    },
    async release() {
      clearInterval(timer);
      heldHere.delete(holder.owner);
      await store.releaseLease(experiment.id, holder.owner).catch(() => {});
    },
  };
}
