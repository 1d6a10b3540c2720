// Pictures of samples: SVG and Graphviz DOT, no external tools.
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { cellsToDot, type DrawOptions } from './dot.js';
import { cellsToSvg } from './svg.js';

export { cellsToDot, type DrawOptions } from './dot.js';
export { cellsToSvg, escapeXml } from './svg.js';

/** The sample's cells (or layer chain) as SVG; the title defaults to the sample's text form. */
export function sampleToSvg(space: DefinedSpace, s: Sample, options: DrawOptions = {}): string {
  return cellsToSvg(space.drawingGraphs(s), { title: `${space.name}`, ...options });
}

export function sampleToDot(space: DefinedSpace, s: Sample, options: DrawOptions = {}): string {
  return cellsToDot(space.drawingGraphs(s), { title: `${space.name}`, ...options });
}
