// A container without a mount namespace has its mounts in ours, all under
// the bind mount of its rootfs onto itself: one lazy unmount takes them all.
// Loaded only for such containers (it needs koffi).

export async function unmountContainerRootfs(rootfs: string): Promise<void> {
  const { unmount, MNT_DETACH } = await import('../linux/mount');
  try {
    unmount(rootfs, MNT_DETACH);
  } catch (err) {
    if ((err as { errnoName?: string }).errnoName !== 'EINVAL') throw err; // EINVAL: not mounted
  }
}
