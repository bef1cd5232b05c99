// The "newc" cpio format the kernel unpacks as an initramfs: a 110-byte
// ASCII header per entry (13 eight-digit hex fields), the name, the data,
// each padded to 4 bytes, and a TRAILER!!! entry at the end. Written here
// rather than by cpio(1) so the rig needs one tool less on the host.
export interface CpioEntry {
  name: string;
  /** File type and permission bits, as st_mode (0o100755, 0o40755, ...). */
  mode: number;
  data?: Buffer;
}

export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }]) {
    const data = (e as CpioEntry).data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const fields = [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''));
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
