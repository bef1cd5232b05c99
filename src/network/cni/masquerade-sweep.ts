// The bridge plugin (containernetworking-plugins 1.1.1) with "ipMasq" adds,
// per container, a nat POSTROUTING rule for the container's address jumping
// to a chain of its own, both commented `name: "<network>" id: "<container>"`.
// On DEL it learns which addresses to unmasquerade from the container's
// interface, so a DEL without the namespace (CNI_NETNS "", or a path that is
// gone because the container died) releases the address lease but leaves
// the rule and the chain behind (seen here). The runner removes them itself
// after the bridge's DEL, found by that comment; after a DEL that did its
// job this finds nothing.
import { spawnSync } from 'node:child_process';

export interface MasqueradeLeftover {
  /** The rule as `-S` prints it after "-A POSTROUTING", split into arguments. */
  rule: string[];
  /** The chain it jumps to, when it is one of the plugin's (CNI-...). */
  chain: string | null;
}

/** Splits one line of `iptables -S` into arguments: double quotes group, backslash escapes inside them. */
export function splitRuleLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '\\' && i + 1 < line.length) current += line[++i];
    else if (c === '"') [quoted, inArg] = [!quoted, true];
    else if (c === ' ' && !quoted) {
      if (inArg) args.push(current);
      [current, inArg] = ['', false];
    } else [current, inArg] = [current + c, true];
  }
  if (inArg) args.push(current);
  return args;
}

export function bridgeMasqueradeComment(network: string, containerId: string): string {
  return `name: "${network}" id: "${containerId}"`;
}

/** The POSTROUTING rules in `iptables -t nat -S POSTROUTING` output that carry `comment`. */
export function findMasqueradeRules(listing: string, comment: string): MasqueradeLeftover[] {
  return listing.split('\n').flatMap((line) => {
    const args = splitRuleLine(line.trim());
    if (args[0] !== '-A' || args[1] !== 'POSTROUTING') return [];
    const c = args.indexOf('--comment');
    if (c < 0 || args[c + 1] !== comment) return [];
    const j = args.indexOf('-j');
    const target = j >= 0 ? args[j + 1] : undefined;
    return [{ rule: args.slice(2), chain: target?.startsWith('CNI-') ? target : null }];
  });
}

function xtables(tool: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(tool, ['-w', '-t', 'nat', ...args], { encoding: 'utf8', timeout: 30000 });
  return { ok: !r.error && r.status === 0, out: r.error ? r.error.message : `${r.stdout}${r.stderr}`.trim() };
}

/** Removes what the bridge left for this container; returns the failures, one line each. */
export function sweepBridgeMasquerade(network: string, containerId: string): string[] {
  const failures: string[] = [];
  const comment = bridgeMasqueradeComment(network, containerId);
  for (const tool of ['iptables', 'ip6tables']) {
    const listing = xtables(tool, ['-S', 'POSTROUTING']);
    if (!listing.ok) continue; // no such tool or no nat table: the plugin cannot have added rules with it
    const leftovers = findMasqueradeRules(listing.out, comment);
    // Every rule first: a chain can only go once nothing jumps to it (a container with two addresses has two rules).
    const chains = [...new Set(leftovers.flatMap((l) => (l.chain ? [l.chain] : [])))];
    const steps = [...leftovers.map((l) => ['-D', 'POSTROUTING', ...l.rule]), ...chains.flatMap((c) => [['-F', c], ['-X', c]])];
    for (const step of steps) {
      const r = xtables(tool, step);
      if (!r.ok) failures.push(`removing the masquerade rules of container "${containerId}": ${tool} -t nat ${step.join(' ')}: ${r.out.replace(/\s*\n\s*/g, ' ')}`);
    }
  }
  return failures;
}
