// The platform this machine runs (in the image-spec's GOOS/GOARCH words),
// and which of an index's manifests fits it best.
import { endianness } from 'node:os';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's process.arch in GOARCH spelling (image-index.md uses Go's values). */
function goArch(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', s390: 's390', mipsel: 'mipsle' };
  if (arch === 'ppc64') return endianness() === 'LE' ? 'ppc64le' : 'ppc64';
  return names[arch] ?? arch;
}

/** This machine: linux on process.arch; arm's variant from the ARM version node was built for. */
export function hostPlatform(): Platform {
  const architecture = goArch(process.arch);
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const version = (process.config.variables as { arm_version?: string }).arm_version ?? '7';
    return { os: 'linux', architecture, variant: `v${version}` };
  }
  return { os: 'linux', architecture };
}

export function formatPlatform(p: Partial<Platform>): string {
  const base = `${p.os ?? '?'}/${p.architecture ?? '?'}`;
  return p.variant ? `${base}/${p.variant}` : base;
}

/**
 * How well a manifest's platform suits `host`: higher is better, -1 is not
 * at all. An exact variant beats none; an older arm variant still runs.
 */
export function platformScore(p: Partial<Platform>, host: Platform): number {
  if (p.os !== host.os || p.architecture !== host.architecture) return -1;
  if (p.variant === host.variant) return 3;
  if (p.variant === undefined || p.variant === '') return 2;
  // arm v7 runs v6 and v5 binaries; arm64 v8 is the only one Node runs on.
  const wanted = Number(host.variant?.slice(1));
  const offered = Number(p.variant.slice(1));
  if (host.architecture === 'arm' && p.variant.startsWith('v') && offered < wanted) return 1;
  return -1;
}
