// What the VM boots, built from the host's own files and Debian packages
// (linux-image-amd64, busybox-static), nothing downloaded:
//  - the kernel: the uncompressed vmlinux inside Debian's /boot/vmlinuz-*
//    (its PVH entry lets qemu boot it directly, without firmware: ~5 s
//    instead of 7-18 s through the BIOS path);
//  - an initramfs: static busybox, the modules for virtio, 9p and overlayfs
//    (with what they depend on, from modules.dep) and guest/initramfs-init.sh.
// The host's running kernel may be one without modules (a cloud or micro-VM
// kernel): the newest /boot kernel with a 9p module is used.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cpioNewc, type CpioEntry } from './cpio';

export interface VmImage {
  kernelVersion: string;
  vmlinux: string;
  initramfs: string;
}

/** The modules the initramfs loads, in this order after their dependencies. */
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

const GUEST_DIR = join(__dirname, '..', '..', '..', 'hack', 'vm', 'guest');

export function guestScript(name: string): string {
  return join(GUEST_DIR, name);
}

interface Kernel {
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

/** The newest kernel in /boot whose modules include 9p. */
export function findKernel(): Kernel {
  const versions = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).map((f) => f.slice('vmlinuz-'.length)) : [];
  const usable = versions
    .filter((v) => existsSync(`/lib/modules/${v}/modules.dep`) && /\/9p\.ko(\.\w+)?:/.test(readFileSync(`/lib/modules/${v}/modules.dep`, 'utf8')))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const version = usable.at(-1);
  if (!version) {
    throw new Error('vm: no kernel in /boot with a 9p module in /lib/modules (install Debian\'s linux-image-amd64; a cloud kernel lacks 9p)');
  }
  return { version, vmlinuz: `/boot/vmlinuz-${version}`, modulesDir: `/lib/modules/${version}` };
}

/** Builds the kernel and initramfs into `dir`. */
export function buildImage(dir: string): VmImage {
  const kernel = findKernel();
  const vmlinux = join(dir, 'vmlinux');
  writeFileSync(vmlinux, extractVmlinux(kernel.vmlinuz));
  const initramfs = join(dir, 'initramfs.cpio');
  writeFileSync(initramfs, cpioNewc(initramfsEntries(kernel)));
  return { kernelVersion: kernel.version, vmlinux, initramfs };
}

/** The ELF kernel inside a bzImage: its payload, found by the compressor's magic bytes. */
export function extractVmlinux(vmlinuz: string): Buffer {
  const image = readFileSync(vmlinuz);
  const xzAt = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  const gzAt = image.indexOf(Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
  let elf: Buffer | undefined;
  if (xzAt >= 0) {
    // xz stops with an error at the bytes after the stream; what it wrote is whole.
    elf = spawnSync('xz', ['-dc'], { input: image.subarray(xzAt), maxBuffer: 1 << 30 }).stdout;
  } else if (gzAt >= 0) {
    elf = gunzipSync(image.subarray(gzAt), { finishFlush: 2 });
  }
  if (!elf || elf.length < 4 || elf.readUInt32BE(0) !== 0x7f454c46) {
    throw new Error(`vm: found no xz or gzip kernel payload in ${vmlinuz} (is xz-utils installed?)`);
  }
  return elf;
}

function initramfsEntries(kernel: Kernel): CpioEntry[] {
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules'].map((name) => ({ name, mode: 0o40755 }));
  entries.push({ name: 'bin/busybox', mode: 0o100755, data: staticBusybox() });
  entries.push({ name: 'init', mode: 0o100755, data: readFileSync(guestScript('initramfs-init.sh')) });
  const modules = moduleLoadOrder(readFileSync(`${kernel.modulesDir}/modules.dep`, 'utf8'), INITRAMFS_MODULES);
  for (const m of modules) entries.push({ name: `lib/modules/${m.name}.ko`, mode: 0o100644, data: readModule(`${kernel.modulesDir}/${m.path}`) });
  entries.push({ name: 'modules', mode: 0o100644, data: Buffer.from(modules.map((m) => m.name).join('\n') + '\n') });
  return entries;
}

function staticBusybox(): Buffer {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(path)) continue;
    const file = spawnSync('file', ['-bL', path], { encoding: 'utf8' }).stdout ?? '';
    if (/statically linked|static-pie/.test(file)) return readFileSync(path);
  }
  throw new Error('vm: no static busybox (install Debian\'s busybox-static)');
}

/** Compressed modules are decompressed: busybox insmod takes plain ELF. */
function readModule(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.ko.xz')) return spawnSync('xz', ['-dc', path], { maxBuffer: 1 << 28 }).stdout;
  if (path.endsWith('.ko.zst')) return spawnSync('zstd', ['-dc', path], { maxBuffer: 1 << 28 }).stdout;
  if (path.endsWith('.ko.gz')) return gunzipSync(readFileSync(path));
  throw new Error(`vm: unknown module format ${path}`);
}

export interface ModuleFile {
  name: string;
  path: string;
}

/**
 * The modules `wanted` needs, dependencies first, each once, from the text
 * of modules.dep ("kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko ..."). A module
 * not in the file is built in and needs no loading.
 */
export function moduleLoadOrder(modulesDep: string, wanted: string[]): ModuleFile[] {
  const deps = new Map<string, { path: string; needs: string[] }>();
  const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
  for (const line of modulesDep.split('\n')) {
    const [path, rest = ''] = line.split(':');
    if (!path) continue;
    deps.set(nameOf(path), { path, needs: rest.trim().split(/\s+/).filter(Boolean).map(nameOf) });
  }
  const order: ModuleFile[] = [];
  const visit = (name: string): void => {
    const entry = deps.get(name);
    if (!entry || order.some((m) => m.name === name)) return;
    // modules.dep lists every dependency, nearest last: load from the far end.
    for (const dep of [...entry.needs].reverse()) visit(dep);
    order.push({ name, path: entry.path });
  };
  for (const name of wanted) visit(name.replace(/-/g, '_'));
  return order;
}
