// linux.resources.devices -> a BPF_PROG_TYPE_CGROUP_DEVICE program, the
// only way cgroup v2 filters devices. Pure: loading it is src/linux/bpf.ts.
//
// The kernel runs the program on every open/mknod of a device node with
// struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major;
// u32 minor; } and grants the access when it returns 1.
//
// To honour "the last matching rule decides each access bit" (rules.ts) the
// program walks the rules from the LAST to the first, keeping in r3 the
// requested bits not yet decided:
//   - a matching deny rule naming an undecided bit ends it: 0;
//   - a matching allow rule decides its bits; when none is left: 1;
//   - past the first rule the default decides what is left.
// Every rule block jumps to the block after it when the device does not match.
//
// Registers: r2 type, r3 undecided access bits, r4 major, r5 minor, r1 (the
// context pointer until the loads are done) scratch.
import type { LinuxDeviceCgroup } from '../../spec/types';
import { OP, encodeInsns, insn, type BpfInsn } from './bpf-insn';
import { ACC_ALL, DEV_BLOCK, DEV_CHAR, effectiveRules, normalizeDeviceRules, type DeviceRule } from './rules';

/** License string handed to BPF_PROG_LOAD (the kernel only checks it for GPL-only helpers, which this does not call). */
export const DEVICE_PROGRAM_LICENSE = 'Apache';

export interface DeviceProgram {
  insns: BpfInsn[];
  /** The instructions as the kernel takes them (8 bytes each). */
  bytes: Buffer;
  license: string;
}

export function buildDeviceProgram(rules: readonly LinuxDeviceCgroup[]): DeviceProgram {
  return buildFromRules(normalizeDeviceRules(rules));
}

export function buildFromRules(all: readonly DeviceRule[]): DeviceProgram {
  const { defaultAllow, rules } = effectiveRules(all);
  const insns: BpfInsn[] = [];
  if (rules.length > 0) insns.push(...prologue());
  for (let i = rules.length - 1; i >= 0; i--) insns.push(...ruleBlock(rules[i]));
  insns.push(...verdict(defaultAllow));
  return { insns, bytes: encodeInsns(insns), license: DEVICE_PROGRAM_LICENSE };
}

function prologue(): BpfInsn[] {
  return [
    insn(OP.LDX_W, 2, 1, 0),
    insn(OP.AND32_K, 2, 0, 0, 0xffff),
    insn(OP.LDX_W, 3, 1, 0),
    insn(OP.RSH32_K, 3, 0, 0, 16),
    insn(OP.LDX_W, 4, 1, 4),
    insn(OP.LDX_W, 5, 1, 8),
  ];
}

function verdict(allow: boolean): BpfInsn[] {
  return [insn(OP.MOV32_K, 0, 0, 0, allow ? 1 : 0), insn(OP.EXIT)];
}

/** A jump to the end of the block being built; its offset is set once the block is complete. */
const NEXT = Symbol('next');
type Pending = BpfInsn & { [NEXT]?: true };

function toNext(code: number, reg: number, imm: number): Pending {
  return { ...insn(code, reg, 0, 0, imm), [NEXT]: true };
}

function ruleBlock(rule: DeviceRule): BpfInsn[] {
  const block: Pending[] = [];
  if (rule.type !== 'a') block.push(toNext(OP.JNE_K, 2, rule.type === 'c' ? DEV_CHAR : DEV_BLOCK));
  // `| 0`: imm is an s32; numbers past 2^31 then never equal a u32 register, as no real device has them.
  if (rule.major !== null) block.push(toNext(OP.JNE_K, 4, rule.major | 0));
  if (rule.minor !== null) block.push(toNext(OP.JNE_K, 5, rule.minor | 0));
  if (rule.access !== ACC_ALL) {
    if (rule.allow) {
      // Mark this rule's bits decided; bits left over go on to earlier rules.
      block.push(insn(OP.AND32_K, 3, 0, 0, ~rule.access & ACC_ALL), toNext(OP.JNE_K, 3, 0));
    } else {
      block.push(insn(OP.MOV32_X, 1, 3), insn(OP.AND32_K, 1, 0, 0, rule.access), toNext(OP.JEQ_K, 1, 0));
    }
  }
  block.push(...verdict(rule.allow));
  return block.map((ins, idx) => {
    const { [NEXT]: pending, ...plain } = ins;
    return pending ? { ...plain, off: block.length - idx - 1 } : plain;
  });
}
