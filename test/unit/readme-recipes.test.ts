// The README's recipes, read as a new user would copy them: the files they
// name exist, the npm scripts they name exist (with their hack/ files), no
// command needs sudo (the README says once that its commands run as root),
// and every podman recipe carries the rlimits podman needs on hosts with low
// hard limits. Issue 14 found each of these broken.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

/** The bodies of the README's fenced blocks of one language (```sh, ```toml). */
function blocks(lang: string): string[] {
  return [...README.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].filter((m) => m[1] === lang).map((m) => m[2]);
}

/** The commands of the ```sh blocks, one per line, with `\`-continued lines joined. */
function shellCommands(): string[] {
  return blocks('sh').flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n')).filter((l) => l.trim() !== '');
}

/**
 * Repo-relative paths starting with `dir/` anywhere in the README (not those
 * inside another path, such as dist/hack/... or /usr/local/bin/...), without
 * the punctuation that ends a sentence.
 */
function namedPaths(dir: string): string[] {
  const found = README.matchAll(new RegExp(`(?<![\\w./-])${dir}/[\\w./-]*`, 'g'));
  return [...new Set([...found].map((m) => m[0].replace(/[.,]+$/, '')))];
}

/** A hack/ file as named: itself, or its TypeScript source when it is named by its compiled .js name. */
function hackFileExists(path: string): boolean {
  return existsSync(join(REPO, path)) || (path.endsWith('.js') && existsSync(join(REPO, path.replace(/\.js$/, '.ts'))));
}

/** The hack/ files a package.json script runs (dist/hack/X.js is compiled from hack/X.ts). */
function scriptHackFiles(script: string): string[] {
  return [...script.matchAll(/(?<![\w.-])(?:dist\/)?(hack\/[\w./-]+)/g)].map((m) => m[1]);
}

/** `default_ulimits` of the [containers] table of the README's containers.conf snippet, or "". */
function containersConfUlimits(): string {
  for (const toml of blocks('toml')) {
    if (!toml.includes('[engine.runtimes]')) continue;
    const table = /^\[containers\]\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(toml)?.[1] ?? '';
    return /^default_ulimits\s*=\s*(\[.*\])/m.exec(table)?.[1] ?? '';
  }
  return '';
}

const hasBothUlimits = (text: string): boolean => /nofile=\d+:\d+/.test(text) && /nproc=\d+:\d+/.test(text);

describe('README recipes', () => {
  it('names only hack/ files that exist', () => {
    const paths = namedPaths('hack');
    assert.ok(paths.includes('hack/install.sh'), `found: ${paths.join(' ')}`);
    assert.deepEqual(paths.filter((p) => !hackFileExists(p)), []);
  });

  it('names only bin/ files that exist or that the build writes (package.json "bin")', () => {
    const built = Object.values(PACKAGE.bin).map((p) => p.replace(/^\.\//, ''));
    assert.ok(PACKAGE.scripts.build.includes('hack/make-launcher.js'), 'the build no longer writes the launcher');
    const missing = namedPaths('bin').filter((p) => !existsSync(join(REPO, p)) && !built.includes(p));
    assert.deepEqual(missing, []);
  });

  it('names only npm scripts that package.json has', () => {
    const named = [...README.matchAll(/\bnpm (?:run (?:--silent )?([\w:-]+)|(test)\b)/g)].map((m) => m[1] ?? m[2]);
    assert.ok(named.includes('test') && named.length > 2, `found: ${named.join(' ')}`);
    assert.deepEqual(named.filter((name) => !(name in PACKAGE.scripts)), []);
  });

  it("has every npm script's hack/ file (npm run demo runs hack/demo.sh)", () => {
    const missing = Object.entries(PACKAGE.scripts).flatMap(([name, script]) => scriptHackFiles(script).filter((f) => !hackFileExists(f)).map((f) => `${name}: ${f}`));
    assert.ok(scriptHackFiles(PACKAGE.scripts.demo ?? '').length > 0, 'npm run demo names no hack/ file');
    assert.deepEqual(missing, []);
  });

  it('starts no shell command with sudo (Set-up says once that commands run as root)', () => {
    const commands = shellCommands();
    assert.ok(commands.length > 5);
    assert.deepEqual(commands.filter((c) => /^\s*sudo\b/.test(c)), []);
    const setUp = README.split(/^## /m).find((section) => section.startsWith('Set-up')) ?? '';
    assert.match(setUp, /run as root/);
    assert.match(setUp, /`sudo`/);
  });

  it('gives every podman run the ulimits a low hard limit needs (flags, or default_ulimits for --runtime tsrun)', () => {
    const runs = shellCommands().filter((c) => /\bpodman\b.*\srun\s/.test(c));
    assert.ok(runs.length >= 2, `podman run commands: ${runs.join(' | ')}`);
    const confCovers = hasBothUlimits(containersConfUlimits());
    const uncovered = runs.filter((c) => !(/--ulimit[ =]nofile=/.test(c) && /--ulimit[ =]nproc=/.test(c)) && !(confCovers && /--runtime[ =]tsrun\s/.test(c)));
    assert.deepEqual(uncovered, []);
  });

  it('sets default_ulimits in the containers.conf snippet', () => {
    assert.ok(hasBothUlimits(containersConfUlimits()), `default_ulimits under [containers]: ${containersConfUlimits() || 'none'}`);
  });

  it('gets the recipes\' images without a registry (podman import; ctr images import)', () => {
    const commands = shellCommands().join('\n');
    assert.match(commands, /\| podman import - localhost\/busybox$/m);
    assert.match(commands, /^ctr images import /m);
    assert.match(commands, /^containerd\b.*&$/m, 'the ctr recipe starts the containerd it needs');
  });
});
