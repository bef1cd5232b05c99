// The one error a layer's content causes: it names the layer and, when the
// fault is one entry's, that entry, on one line.
import { UserError } from '../../errors';

/** A name from an archive, quoted for a one-line message (control characters escaped). */
export function quoted(name: string): string {
  return JSON.stringify(name);
}

export class LayerError extends UserError {
  constructor(
    /** How the caller named the layer: "layer 2 (sha256:1234abcd…)". */
    readonly layer: string,
    /** The entry's name as the archive has it; null for a fault of the archive itself. */
    readonly entry: string | null,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(entry === null ? `${layer}: ${problem}` : `${layer}: entry ${quoted(entry)}: ${problem}`, options);
    this.name = 'LayerError';
  }
}
