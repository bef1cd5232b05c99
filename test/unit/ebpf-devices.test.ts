// The cgroup v2 device program, judged against the rules' own meaning: a
// small interpreter runs the encoded bytes for many (type, major, minor,
// access) requests and each verdict must equal emulator.ts's. The v1 writes
// are judged the same way through a model of the v1 kernel's list.
import assert from 'node:assert/strict';
import type { LinuxDeviceCgroup } from '../../src/spec/types';
import { UserError } from '../../src/errors';
import { buildDeviceProgram } from '../../src/cgroups/devices/ebpf';
import { disassemble, encodeInsns, decodeInsns } from '../../src/cgroups/devices/bpf-insn';
import { deviceAllowed, type DeviceRequest } from '../../src/cgroups/devices/emulator';
import { ACC_MKNOD, ACC_READ, ACC_WRITE, DEV_BLOCK, DEV_CHAR, normalizeDeviceRules } from '../../src/cgroups/devices/rules';
import { v1DeviceWrites } from '../../src/cgroups/devices/v1';
import type { CgroupWrite } from '../../src/cgroups/types';

// ------------------------------------------------------------ the interpreter

const CTX = 0x10000n; // where r1 "points": the only memory the program may read
const U64 = (1n << 64n) - 1n;
const U32 = 0xffffffffn;

/**
 * Runs the subset of eBPF the builder emits, straight from the bytes, with
 * 64-bit registers; anything else, a backward jump, a read outside the
 * context or running off the end fails the test, as the verifier would.
 */
function runProgram(bytes: Buffer, req: DeviceRequest): number {
  assert.equal(bytes.length % 8, 0);
  const n = bytes.length / 8;
  const ctxWords = [BigInt(((req.access << 16) | (req.type === 'c' ? DEV_CHAR : DEV_BLOCK)) >>> 0), BigInt(req.major), BigInt(req.minor)];
  const r: bigint[] = new Array<bigint>(11).fill(0n);
  r[1] = CTX;
  const init = new Set([1, 10]);
  const read = (reg: number): bigint => {
    assert.ok(init.has(reg), `r${reg} read before written`);
    return r[reg];
  };
  for (let pc = 0, steps = 0; ; steps++) {
    assert.ok(pc >= 0 && pc < n, `pc ${pc} outside the program`);
    assert.ok(steps < 4096);
    const at = pc * 8;
    const code = bytes[at];
    const dst = bytes[at + 1] & 0xf;
    const src = bytes[at + 1] >> 4;
    const off = bytes.readInt16LE(at + 2);
    const imm = bytes.readInt32LE(at + 4);
    const immU64 = BigInt.asUintN(64, BigInt(imm));
    const set32 = (v: bigint): void => {
      r[dst] = v & U32;
      init.add(dst);
    };
    let next = pc + 1;
    switch (code) {
      case 0x61: {
        // ldx w: only from the context, at a word it has.
        assert.equal(read(src), CTX, 'load through a non-context pointer');
        const word = off / 4;
        assert.ok(off % 4 === 0 && word >= 0 && word < 3, `context offset ${off}`);
        r[dst] = ctxWords[word];
        init.add(dst);
        break;
      }
      case 0x54:
        set32(read(dst) & (immU64 & U32));
        break;
      case 0x74:
        set32((read(dst) & U32) >> BigInt(imm));
        break;
      case 0xb4:
        set32(immU64 & U32);
        break;
      case 0xbc:
        set32(read(src) & U32);
        break;
      case 0x55:
      case 0x15: {
        assert.ok(off >= 0, 'backward jump');
        const equal = (read(dst) & U64) === immU64;
        if (equal === (code === 0x15)) next = pc + 1 + off;
        break;
      }
      case 0x95:
        return Number(read(0) & U32);
      default:
        assert.fail(`instruction 0x${code.toString(16)} at ${pc} is outside the subset`);
    }
    pc = next;
  }
}

// ------------------------------------------------------------ requests

const ACCESSES = [1, 2, 3, 4, 5, 6, 7];

function* requests(majors: number[], minors: number[]): Generator<DeviceRequest> {
  for (const type of ['c', 'b'] as const) {
    for (const major of majors) for (const minor of minors) for (const access of ACCESSES) yield { type, major, minor, access };
  }
}

function show(req: DeviceRequest): string {
  const acc = `${req.access & ACC_READ ? 'r' : ''}${req.access & ACC_WRITE ? 'w' : ''}${req.access & ACC_MKNOD ? 'm' : ''}`;
  return `${req.type} ${req.major}:${req.minor} ${acc}`;
}

/** Program and emulator agree on every request; returns how many were allowed. */
function assertAgree(config: LinuxDeviceCgroup[], majors: number[], minors: number[]): number {
  const rules = normalizeDeviceRules(config);
  const { bytes } = buildDeviceProgram(config);
  let allowed = 0;
  for (const req of requests(majors, minors)) {
    const want = deviceAllowed(rules, req);
    const got = runProgram(bytes, req);
    assert.equal(got, want ? 1 : 0, `${show(req)}: program says ${got}, rules say ${want}\nrules: ${JSON.stringify(config)}\n${disassemble(bytes).join('\n')}`);
    if (want) allowed++;
  }
  return allowed;
}

function verdict(config: LinuxDeviceCgroup[], text: string): boolean {
  const [type, numbers, access] = text.split(' ');
  const [major, minor] = numbers.split(':').map(Number);
  const bits = (access.includes('r') ? ACC_READ : 0) | (access.includes('w') ? ACC_WRITE : 0) | (access.includes('m') ? ACC_MKNOD : 0);
  const req: DeviceRequest = { type: type as 'c' | 'b', major, minor, access: bits };
  const emulated = deviceAllowed(normalizeDeviceRules(config), req);
  assert.equal(runProgram(buildDeviceProgram(config).bytes, req), emulated ? 1 : 0, text);
  return emulated;
}

const allow = (type: 'a' | 'c' | 'b' | undefined, major: number | undefined, minor: number | undefined, access: string): LinuxDeviceCgroup => ({ allow: true, type, major, minor, access });
const deny = (type: 'a' | 'c' | 'b' | undefined, major: number | undefined, minor: number | undefined, access: string): LinuxDeviceCgroup => ({ allow: false, type, major, minor, access });

/** runc's default device rules, after the config's deny-all. */
const RUNC_DEFAULT: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  allow('c', 1, 3, 'rwm'),
  allow('c', 1, 5, 'rwm'),
  allow('c', 1, 7, 'rwm'),
  allow('c', 1, 8, 'rwm'),
  allow('c', 1, 9, 'rwm'),
  allow('c', 5, 0, 'rwm'),
  allow('c', 5, 1, 'rwm'),
  allow('c', 5, 2, 'rwm'),
  allow('c', 136, undefined, 'rwm'),
  allow('c', 10, 200, 'rwm'),
];

const MAJORS = [0, 1, 4, 5, 8, 10, 136, 254, 4095];
const MINORS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 200, 1048575];

// ------------------------------------------------------------ tests

describe('eBPF device program', () => {
  it('agrees with the rules for runc-style defaults, everywhere', () => {
    const allowed = assertAgree(RUNC_DEFAULT, MAJORS, MINORS);
    assert.ok(allowed > 0);
    assert.equal(verdict(RUNC_DEFAULT, 'c 1:3 rw'), true);
    assert.equal(verdict(RUNC_DEFAULT, 'c 1:3 rwm'), true);
    assert.equal(verdict(RUNC_DEFAULT, 'c 1:4 r'), false);
    assert.equal(verdict(RUNC_DEFAULT, 'b 1:3 r'), false);
    assert.equal(verdict(RUNC_DEFAULT, 'c 136:42 rw'), true);
    assert.equal(verdict(RUNC_DEFAULT, 'c 10:200 m'), true);
    assert.equal(verdict(RUNC_DEFAULT, 'c 10:201 r'), false);
    assert.equal(verdict(RUNC_DEFAULT, 'b 8:0 r'), false);
  });

  it('agrees with runc defaults plus mknod of any device', () => {
    const withMknod = [...RUNC_DEFAULT, allow('c', undefined, undefined, 'm'), allow('b', undefined, undefined, 'm')];
    assertAgree(withMknod, MAJORS, MINORS);
    assert.equal(verdict(withMknod, 'b 8:0 m'), true);
    assert.equal(verdict(withMknod, 'b 8:0 rm'), false);
  });

  it('lets the last matching rule decide each access bit', () => {
    const cases: Array<[LinuxDeviceCgroup[], Array<[string, boolean]>]> = [
      // Allow all but writing /dev/null (the integration test's program).
      [[allow(undefined, undefined, undefined, 'rwm'), deny('c', 1, 3, 'w')], [['c 1:3 w', false], ['c 1:3 r', true], ['c 1:3 rw', false], ['c 1:3 m', true], ['b 1:3 w', true], ['c 1:4 w', true]]],
      // A narrower deny after a wider allow, then allowed back.
      [[deny('a', undefined, undefined, 'rwm'), allow('c', 1, undefined, 'rwm'), deny('c', 1, 3, 'w')], [['c 1:3 w', false], ['c 1:3 r', true], ['c 1:5 w', true], ['c 2:3 r', false]]],
      [[allow('c', 1, undefined, 'rwm'), deny('c', 1, 3, 'rwm'), allow('c', 1, 3, 'r')], [['c 1:3 r', true], ['c 1:3 w', false], ['c 1:3 rw', false], ['c 1:9 rw', true]]],
      // A later wider deny overrides an earlier narrower allow.
      [[allow('c', 1, 3, 'rwm'), deny('c', 1, undefined, 'w')], [['c 1:3 w', false], ['c 1:3 r', true], ['c 1:3 m', true]]],
      // Bits granted by different rules add up.
      [[allow('c', undefined, undefined, 'r'), allow('c', 1, 3, 'w')], [['c 1:3 rw', true], ['c 1:4 rw', false], ['c 1:4 r', true]]],
      // A reset in the middle forgets what came before.
      [[allow('c', 1, 3, 'rwm'), deny(undefined, undefined, undefined, 'rwm'), allow('c', 5, undefined, 'r')], [['c 1:3 r', false], ['c 5:1 r', true], ['c 5:1 w', false]]],
      [[deny('c', 1, 3, 'rwm'), allow('a', undefined, undefined, 'rwm')], [['c 1:3 rw', true]]],
      // Type "a" with numbers is both kinds of device, not a reset.
      [[allow(undefined, 8, undefined, 'r'), deny('a', 8, 0, 'r')], [['b 8:1 r', true], ['c 8:1 r', true], ['b 8:0 r', false], ['c 8:0 r', false], ['b 9:0 r', false]]],
      [[allow('a', undefined, undefined, 'rw')], [['b 3:3 rw', true], ['c 3:3 m', false], ['c 3:3 rm', false]]],
      // Blacklist: allow all, deny a major, allow one minor back.
      [[allow('a', undefined, undefined, 'rwm'), deny('c', 1, undefined, 'rwm'), allow('c', 1, 3, 'r')], [['c 1:3 r', true], ['c 1:3 w', false], ['c 1:4 r', false], ['c 2:4 rw', true]]],
      // No rules at all: nothing.
      [[], [['c 1:3 r', false]]],
    ];
    for (const [config, expectations] of cases) {
      for (const [req, want] of expectations) assert.equal(verdict(config, req), want, `${req} under ${JSON.stringify(config)}`);
      assertAgree(config, [0, 1, 2, 3, 5, 8, 9], [0, 1, 3, 4, 5, 9]);
    }
  });

  it('agrees with the rules on 3000 random rule lists', () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(xs: T[]): T => xs[rand(xs.length)];
    for (let round = 0; round < 3000; round++) {
      const config: LinuxDeviceCgroup[] = [];
      const length = rand(8);
      for (let i = 0; i < length; i++) {
        const bits = 1 + rand(7);
        config.push({
          allow: rand(2) === 0,
          type: pick([undefined, 'a', 'c', 'b'] as const),
          major: pick([undefined, 1, 5]),
          minor: pick([undefined, 3, 7]),
          access: `${bits & 1 ? 'r' : ''}${bits & 2 ? 'w' : ''}${bits & 4 ? 'm' : ''}`,
        });
      }
      assertAgree(config, [1, 5, 6], [3, 7, 8]);
    }
  });

  it('lists a tiny program as expected', () => {
    const program = buildDeviceProgram([allow(undefined, undefined, undefined, 'rwm'), deny('c', 1, 3, 'w')]);
    assert.equal(program.license, 'Apache');
    assert.deepEqual(disassemble(program.insns), [
      '  0: r2 = *(u32 *)(r1 + 0)',
      '  1: w2 &= 0xffff',
      '  2: r3 = *(u32 *)(r1 + 0)',
      '  3: w3 >>= 16',
      '  4: r4 = *(u32 *)(r1 + 4)',
      '  5: r5 = *(u32 *)(r1 + 8)',
      '  6: if r2 != 2 goto +7 <14>',
      '  7: if r4 != 1 goto +6 <14>',
      '  8: if r5 != 3 goto +5 <14>',
      '  9: w1 = w3',
      ' 10: w1 &= 0x4',
      ' 11: if r1 == 0 goto +2 <14>',
      ' 12: w0 = 0',
      ' 13: exit',
      ' 14: w0 = 1',
      ' 15: exit',
    ]);
    assert.deepEqual(disassemble(program.bytes), disassemble(program.insns));
    assert.deepEqual(disassemble(buildDeviceProgram([]).insns), ['  0: w0 = 0', '  1: exit']);
    assert.deepEqual(disassemble(buildDeviceProgram([allow('a', undefined, undefined, 'rwm')]).insns), ['  0: w0 = 1', '  1: exit']);
  });

  it('lists an allow rule with partial access', () => {
    assert.deepEqual(disassemble(buildDeviceProgram([allow('b', 8, undefined, 'r')]).insns).slice(6), [
      '  6: if r2 != 1 goto +5 <12>',
      '  7: if r4 != 8 goto +4 <12>',
      '  8: w3 &= 0x5',
      '  9: if r3 != 0 goto +2 <12>',
      ' 10: w0 = 1',
      ' 11: exit',
      ' 12: w0 = 0',
      ' 13: exit',
    ]);
  });

  it('encodes struct bpf_insn little-endian, dst in the low nibble', () => {
    const { bytes, insns } = buildDeviceProgram([allow(undefined, undefined, undefined, 'rwm'), deny('c', 1, 3, 'w')]);
    assert.equal(bytes.length, insns.length * 8);
    assert.equal(bytes.subarray(0, 8).toString('hex'), '6112000000000000'); // r2 = *(u32 *)(r1 + 0)
    assert.equal(bytes.subarray(8, 16).toString('hex'), '54020000ffff0000'); // w2 &= 0xffff
    assert.equal(bytes.subarray(4 * 8, 5 * 8).toString('hex'), '6114040000000000'); // r4 = *(u32 *)(r1 + 4)
    assert.equal(bytes.subarray(6 * 8, 7 * 8).toString('hex'), '5502070002000000'); // if r2 != 2 goto +7
    assert.deepEqual(decodeInsns(encodeInsns(insns)), insns);
    const neg = encodeInsns([{ code: 0x55, dst: 4, src: 0, off: 1, imm: -1 }]);
    assert.equal(neg.toString('hex'), '55040100ffffffff');
  });

  it('refuses malformed rules, naming the entry', () => {
    const bad: Array<[LinuxDeviceCgroup, RegExp]> = [
      [{ allow: true, type: 'x' as 'a', access: 'r' }, /devices\/0\/type: must be "a", "c" or "b"/],
      [{ allow: true, type: 'c', access: 'rx' }, /devices\/0\/access: "rx" may only hold r, w and m/],
      [{ allow: true, type: 'c' }, /devices\/0\/access: must name at least one of r, w, m/],
      [{ allow: true, type: 'c', access: '' }, /devices\/0\/access: must name at least one/],
      [{ allow: true, type: 'c', major: -2, access: 'r' }, /devices\/0\/major: -2 is not a device number/],
      [{ allow: true, type: 'c', minor: 2 ** 32, access: 'r' }, /devices\/0\/minor: 4294967296 is not a device number/],
    ];
    for (const [rule, pattern] of bad) {
      assert.throws(() => buildDeviceProgram([rule]), (e: unknown) => e instanceof UserError && pattern.test(e.message));
      assert.throws(() => v1DeviceWrites([rule]), (e: unknown) => e instanceof UserError && pattern.test(e.message));
    }
    // -1 is read as "any", as crun and runc's internal form have it.
    assert.equal(verdict([allow('c', -1, -1, 'r')], 'c 7:7 r'), true);
  });
});

// ------------------------------------------------------------ cgroup v1

/** The v1 kernel's devices list (security/device_cgroup.c), fed the writes. */
function v1Kernel(writes: CgroupWrite[]): (req: DeviceRequest) => boolean {
  type Ex = { type: string; major: number | null; minor: number | null; access: number };
  let defaultAllow = true; // a fresh v1 cgroup allows everything
  let list: Ex[] = [];
  for (const w of writes) {
    assert.equal(w.controller, 'devices');
    const isAllow = w.file === 'devices.allow';
    assert.ok(isAllow || w.file === 'devices.deny', w.file);
    if (w.value === 'a') {
      defaultAllow = isAllow;
      list = [];
      continue;
    }
    const m = /^([cb]) (\d+|\*):(\d+|\*) ([rwm]+)$/.exec(w.value);
    assert.ok(m, `malformed v1 line ${JSON.stringify(w.value)}`);
    const ex: Ex = { type: m[1], major: m[2] === '*' ? null : Number(m[2]), minor: m[3] === '*' ? null : Number(m[3]), access: bitsOf(m[4]) };
    const same = list.find((e) => e.type === ex.type && e.major === ex.major && e.minor === ex.minor);
    // A line against the default adds (merging into the same device); one with it removes exactly that device's bits.
    if (isAllow !== defaultAllow) {
      if (same) same.access |= ex.access;
      else list.push(ex);
    } else if (same) {
      same.access &= ~ex.access;
      list = list.filter((e) => e.access !== 0);
    }
  }
  return (req) => {
    const matches = list.filter((e) => e.type === req.type && (e.major === null || e.major === req.major) && (e.minor === null || e.minor === req.minor));
    if (defaultAllow) return !matches.some((e) => (e.access & req.access) !== 0);
    return matches.some((e) => (req.access & ~e.access) === 0);
  };
}

function bitsOf(access: string): number {
  return (access.includes('r') ? ACC_READ : 0) | (access.includes('w') ? ACC_WRITE : 0) | (access.includes('m') ? ACC_MKNOD : 0);
}

describe('cgroup v1 device writes', () => {
  const lines = (config: LinuxDeviceCgroup[]): string[] => v1DeviceWrites(config).map((w) => `${w.file === 'devices.allow' ? 'allow' : 'deny'} ${w.value}`);

  it('denies everything first, then applies the rules in order', () => {
    assert.deepEqual(lines(RUNC_DEFAULT), [
      'deny a',
      'deny a',
      'allow c 1:3 rwm',
      'allow c 1:5 rwm',
      'allow c 1:7 rwm',
      'allow c 1:8 rwm',
      'allow c 1:9 rwm',
      'allow c 5:0 rwm',
      'allow c 5:1 rwm',
      'allow c 5:2 rwm',
      'allow c 136:* rwm',
      'allow c 10:200 rwm',
    ]);
    const all = v1DeviceWrites(RUNC_DEFAULT);
    assert.deepEqual(all[0], { controller: 'devices', file: 'devices.deny', value: 'a', field: '/linux/resources/devices' });
    assert.deepEqual(all[2], { controller: 'devices', file: 'devices.allow', value: 'c 1:3 rwm', field: '/linux/resources/devices/1' });
  });

  it('writes a type "a" rule with numbers or partial access as a char and a block line', () => {
    assert.deepEqual(lines([allow(undefined, 8, undefined, 'rw')]), ['deny a', 'allow c 8:* rw', 'allow b 8:* rw']);
    assert.deepEqual(lines([allow('a', undefined, undefined, 'rwm'), deny('c', 1, 3, 'w')]), ['deny a', 'allow a', 'deny c 1:3 w']);
  });

  it('takes access away from the narrower rules a wider one covers', () => {
    assert.deepEqual(lines([allow('c', 1, 3, 'rwm'), allow('c', 1, 5, 'r'), allow('c', 2, 1, 'w'), deny('c', 1, undefined, 'w')]), [
      'deny a',
      'allow c 1:3 rwm',
      'allow c 1:5 r',
      'allow c 2:1 w',
      'deny c 1:* w',
      'deny c 1:3 w',
    ]);
  });

  it('refuses what v1 cannot express: a hole in a wider rule', () => {
    assert.throws(
      () => v1DeviceWrites([deny('a', undefined, undefined, 'rwm'), allow('c', 1, undefined, 'rwm'), deny('c', 1, 3, 'w')]),
      (e: unknown) =>
        e instanceof UserError &&
        /^config.json: \/linux\/resources\/devices\/2: cgroup v1 cannot deny c 1:3 w after allowing c 1:\* rwm/.test(e.message),
    );
    assert.throws(() => v1DeviceWrites([allow('a', undefined, undefined, 'rwm'), deny('c', undefined, undefined, 'r'), allow('c', 1, 3, 'r')]), /cannot allow c 1:3 r after denying c \*:\* r/);
    // Overlapping but neither covering the other.
    assert.throws(() => v1DeviceWrites([allow('c', 1, undefined, 'r'), deny('c', undefined, 3, 'r')]), /cannot deny c \*:3 r after allowing c 1:\* r/);
  });

  it('gives the same verdict as the rules for every single access bit', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let checked = 0;
    for (let round = 0; round < 3000; round++) {
      const config: LinuxDeviceCgroup[] = [];
      for (let i = rand(7); i > 0; i--) {
        const bits = 1 + rand(7);
        config.push({
          allow: rand(2) === 0,
          type: [undefined, 'a', 'c', 'b'][rand(4)] as 'a' | undefined,
          major: [undefined, 1, 5][rand(3)],
          minor: [undefined, 3, 7][rand(3)],
          access: `${bits & 1 ? 'r' : ''}${bits & 2 ? 'w' : ''}${bits & 4 ? 'm' : ''}`,
        });
      }
      let writes: CgroupWrite[];
      try {
        writes = v1DeviceWrites(config);
      } catch (e) {
        assert.ok(e instanceof UserError && /cgroup v1 cannot/.test(e.message), String(e));
        continue;
      }
      const kernel = v1Kernel(writes);
      const rules = normalizeDeviceRules(config);
      for (const req of requests([1, 5, 6], [3, 7, 8])) {
        const want = deviceAllowed(rules, req);
        const got = kernel(req);
        const single = (req.access & (req.access - 1)) === 0;
        if (single) assert.equal(got, want, `${show(req)} under ${JSON.stringify(config)}: v1 ${got}, rules ${want}\n${writes.map((w) => `${w.file} ${w.value}`).join('\n')}`);
        // Several bits at once: v1 may only be stricter.
        else if (got) assert.ok(want, `${show(req)} allowed on v1 but not by the rules: ${JSON.stringify(config)}`);
        checked++;
      }
    }
    assert.ok(checked > 100000, `only ${checked} checks ran`);
  });
});
