// The few eBPF instructions the device filter uses: their encoding (struct
// bpf_insn, include/uapi/linux/bpf.h) and a readable listing of them.
// struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; },
// little-endian on the architectures tsrun runs on, so dst is the low nibble.

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// code = operation | source | class.
export const OP = {
  /** dst = *(u32 *)(src + off) */
  LDX_W: 0x61,
  /** dst32 &= imm */
  AND32_K: 0x54,
  /** dst32 >>= imm */
  RSH32_K: 0x74,
  /** dst32 = imm */
  MOV32_K: 0xb4,
  /** dst32 = src32 */
  MOV32_X: 0xbc,
  /** if dst != imm goto pc+1+off (64-bit compare) */
  JNE_K: 0x55,
  /** if dst == imm goto pc+1+off */
  JEQ_K: 0x15,
  EXIT: 0x95,
} as const;

export const INSN_SIZE = 8;

export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): BpfInsn {
  return { code, dst, src, off, imm };
}

export function encodeInsns(insns: readonly BpfInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((i, n) => {
    const at = n * INSN_SIZE;
    buf.writeUInt8(i.code, at);
    buf.writeUInt8(((i.src & 0xf) << 4) | (i.dst & 0xf), at + 1);
    buf.writeInt16LE(i.off, at + 2);
    buf.writeInt32LE(i.imm, at + 4);
  });
  return buf;
}

export function decodeInsns(buf: Buffer): BpfInsn[] {
  if (buf.length % INSN_SIZE !== 0) throw new RangeError(`${buf.length} bytes is not a whole number of instructions`);
  const out: BpfInsn[] = [];
  for (let at = 0; at < buf.length; at += INSN_SIZE) {
    const regs = buf.readUInt8(at + 1);
    out.push({ code: buf.readUInt8(at), dst: regs & 0xf, src: regs >> 4, off: buf.readInt16LE(at + 2), imm: buf.readInt32LE(at + 4) });
  }
  return out;
}

/** One line per instruction, "pc: text", jumps showing their target pc. */
export function disassemble(program: readonly BpfInsn[] | Buffer): string[] {
  const insns = Buffer.isBuffer(program) ? decodeInsns(program) : program;
  return insns.map((i, pc) => `${String(pc).padStart(3)}: ${describe(i, pc)}`);
}

function describe(i: BpfInsn, pc: number): string {
  const jump = (): string => `goto ${i.off >= 0 ? '+' : ''}${i.off} <${pc + 1 + i.off}>`;
  switch (i.code) {
    case OP.LDX_W:
      return `r${i.dst} = *(u32 *)(r${i.src} + ${i.off})`;
    case OP.AND32_K:
      return `w${i.dst} &= ${hex(i.imm)}`;
    case OP.RSH32_K:
      return `w${i.dst} >>= ${i.imm}`;
    case OP.MOV32_K:
      return `w${i.dst} = ${i.imm}`;
    case OP.MOV32_X:
      return `w${i.dst} = w${i.src}`;
    case OP.JNE_K:
      return `if r${i.dst} != ${i.imm} ${jump()}`;
    case OP.JEQ_K:
      return `if r${i.dst} == ${i.imm} ${jump()}`;
    case OP.EXIT:
      return 'exit';
    default:
      return `.insn code=${hex(i.code)} dst=r${i.dst} src=r${i.src} off=${i.off} imm=${i.imm}`;
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
