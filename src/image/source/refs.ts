// Image names as the user gives them to --ref and as archives record them
// (docker RepoTags, the OCI ref.name annotation): "busybox",
// "busybox:latest", "localhost/busybox:latest" and
// "docker.io/library/busybox:latest" all name the same image.

/** Registries a short name is filled in with: docker's default, and podman's for local images. */
const DEFAULT_PREFIXES = ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/', 'localhost/'];

/** The short comparable form of a reference: default registry dropped, ":latest" added when untagged. */
export function refKey(ref: string): string {
  let key = ref;
  for (const prefix of DEFAULT_PREFIXES) {
    if (key.startsWith(prefix)) {
      key = key.slice(prefix.length);
      break;
    }
  }
  if (key.startsWith('library/')) key = key.slice('library/'.length);
  const lastSlash = key.lastIndexOf('/');
  const hasTag = key.indexOf(':', lastSlash + 1) !== -1 || key.includes('@');
  return hasTag ? key : `${key}:latest`;
}

/**
 * The images (`namesOf` gives the names each goes by) that `wanted`
 * names: those spelling it exactly if any, else those with its refKey.
 */
export function imagesNamed<T>(images: T[], namesOf: (image: T) => string[], wanted: string): T[] {
  const exact = images.filter((img) => namesOf(img).includes(wanted));
  if (exact.length > 0) return exact;
  const key = refKey(wanted);
  return images.filter((img) => namesOf(img).some((n) => refKey(n) === key));
}
