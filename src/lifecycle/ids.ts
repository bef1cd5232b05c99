// Container ids become directory names under the state root, so they are
// held to runc's pattern: no '/', no '..', nothing a path could be made of.
import { UserError } from '../errors';

const ID_PATTERN = /^[\w+.-]+$/;

/**
 * The longest id: the lock beside the state directory is `<id>.lock`, and a
 * file name has at most 255 bytes (NAME_MAX) on Linux file systems. runc
 * sets no limit and fails on the first path (lstat: ENAMETOOLONG); tsrun
 * refuses the id before touching anything.
 */
export const MAX_ID_LENGTH = 255 - '.lock'.length;

export function validateId(id: string | undefined): string {
  if (id === undefined || id === '') throw new UserError('container id cannot be empty');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new UserError(`invalid container id format: ${id}`);
  if (id.length > MAX_ID_LENGTH) throw new UserError(`container id too long: ${id.length} characters, at most ${MAX_ID_LENGTH} (${id.slice(0, 20)}...)`);
  return id;
}
