// Durations as users write them on the command line: 90s, 20m, 1h30m, 1.5h
// or a plain number of seconds.
import { usageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Seconds in a duration; anything else is a usage error naming `where`. */
export function parseDuration(text: string, where: string): number {
  const trimmed = text.trim();
  let seconds = 0;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    seconds = Number(trimmed);
  } else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)([smh])/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
      throw usageError(`expected a duration such as 90s, 20m, 1h30m or a number of seconds, found "${text}"`, where);
    }
    for (const p of parts) seconds += Number(p[1]) * UNIT_SECONDS[p[2]!]!;
  }
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw usageError(`expected a duration above zero, found "${text}"`, where);
  return seconds;
}
