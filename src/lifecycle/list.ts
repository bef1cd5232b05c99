// `list`: every container under the state root with its live status.
import { Container, type OciState } from './container';
import { StateStore } from './store';

export function listContainers(root: string): OciState[] {
  const store = new StateStore(root);
  const states: OciState[] = [];
  for (const id of store.ids()) {
    try {
      states.push(Container.load(store, id).ociState());
    } catch {
      // deleted while we listed
    }
  }
  return states;
}

export function containerState(root: string, id: string): OciState {
  return Container.load(new StateStore(root), id).ociState();
}
