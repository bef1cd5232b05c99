// Memory outside the JavaScript heap, for structures the kernel follows by
// address (a sock_fprog's filter, a msghdr's iovec and control data). koffi
// allocates it, so its address is fixed for its whole life, which a Node
// Buffer's is not guaranteed to be.
import { koffi } from './libc';

export class NativeMemory {
  private ptr: unknown;
  readonly address: bigint;

  constructor(readonly size: number) {
    // koffi refuses a zero-length allocation; one byte keeps callers simple.
    this.ptr = koffi.alloc('uint8_t', Math.max(size, 1));
    this.address = BigInt(koffi.address(this.ptr));
    this.bytes().fill(0);
  }

  /** A copy of `data` in native memory. */
  static from(data: Uint8Array): NativeMemory {
    const mem = new NativeMemory(data.length);
    mem.bytes().set(data);
    return mem;
  }

  /** The pointer value to pass to a function parameter of pointer type. */
  get pointer(): unknown {
    if (this.ptr === null) throw new Error('native memory used after free');
    return this.ptr;
  }

  /** A live view: writes go to the native memory, reads see what the kernel wrote. */
  bytes(): Buffer {
    return Buffer.from(koffi.view(this.pointer, Math.max(this.size, 1)) as ArrayBuffer, 0, this.size);
  }

  free(): void {
    if (this.ptr !== null) koffi.free(this.ptr);
    this.ptr = null;
  }
}

/** Runs `fn` with native blocks of the given sizes, freed afterwards whatever happens. */
export function withNativeMemory<T>(sizes: number[], fn: (blocks: NativeMemory[]) => T): T {
  const blocks: NativeMemory[] = [];
  try {
    for (const size of sizes) blocks.push(new NativeMemory(size));
    return fn(blocks);
  } finally {
    for (const b of blocks) b.free();
  }
}
