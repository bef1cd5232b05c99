// Container ids become directory names under the state root, so they are
// held to runc's pattern: no '/', no '..', nothing a path could be made of.
import { UserError } from '../errors';

const ID_PATTERN = /^[\w+.-]+$/;

export function validateId(id: string | undefined): string {
  if (id === undefined || id === '') throw new UserError('container id cannot be empty');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new UserError(`invalid container id format: ${id}`);
  return id;
}
