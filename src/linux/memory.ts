// madvise(2) and malloc_trim(3): how tsrun tells the kernel and libc about
// its own memory (fork.ts before each fork, idle-memory.ts before a long wait).
import { libc } from './libc';

export const madvise = libc.func('int madvise(uint64_t addr, uint64_t len, int advice)');
export const mallocTrim = libc.func('int malloc_trim(size_t pad)');
export const MADV_DONTNEED = 4;
export const MADV_DOFORK = 11;
