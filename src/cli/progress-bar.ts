// The progress of `tsrun bundle` on a terminal: one line per layer, redrawn
// in place at most ten times a second (a redraw per chunk would cost more
// than the unpacking on a fast disk), left on the screen when the layer is done.
import type { LayerProgress } from '../image/unpack-bundle';
import { writeStderr } from '../log/write-fd';

const WIDTH = 24;
const REDRAW_MS = 100;

function size(n: number): string {
  return n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

export function progressLine(p: LayerProgress): string {
  const name = `layer ${p.index}/${p.count}${p.digest === null ? '' : ` ${p.digest.replace(/^sha256:/, '').slice(0, 12)}`}`;
  if (p.size === null || p.size === 0) return `${name} ${size(p.stored)}${p.done ? ' done' : ''}`;
  const fraction = p.done ? 1 : Math.min(1, p.stored / p.size);
  const filled = Math.round(fraction * WIDTH);
  return `${name} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${size(p.done ? p.size : p.stored)} / ${size(p.size)}`;
}

export class LayerProgressBar {
  private lastDraw = 0;

  update(p: LayerProgress): void {
    const now = Date.now();
    if (!p.done && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    // \r and "erase to end of line": the new text may be shorter than the old.
    writeStderr(`\r${progressLine(p)}\x1b[K${p.done ? '\n' : ''}`);
  }
}
