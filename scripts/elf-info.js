// What a shared object asks of the machine that loads it, read from its ELF headers (64-bit little-endian: x86-64
// and AArch64 Linux): the machine, the libraries it needs (DT_NEEDED, what `ldd` resolves), the glibc symbol
// versions it needs (GLIBC_2.x, which sets the oldest glibc that loads it) and its GNU build id. Works for a binary of
// any architecture on any host, with no binutils: scripts/prebuild-native.js, scripts/check-package.js and
// spec/package/prebuilds.spec.ts use it on the prebuilt addons.
//
//   node scripts/elf-info.js prebuilds/linux-arm64/tfjs_diffusers_native.node
'use strict';
const fs = require('fs');

const EM_NAMES = { 62: 'x86-64', 183: 'aarch64' };
const SHT_DYNAMIC = 6;
const SHT_NOTE = 7;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1;
const NT_GNU_BUILD_ID = 3;

/** The NUL-terminated string at `offset` of `buf`. */
function cString(buf, offset) {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? buf.length : end);
}

/**
 * The dependencies of an ELF shared object.
 *
 * ```js
 * elfInfo(fs.readFileSync('x.node')); // { machine: 'aarch64', needed: ['libc.so.6'], glibcVersions: ['GLIBC_2.17'], maxGlibc: '2.17', buildId: '…' }
 * ```
 * @param {Buffer} buf the file's bytes
 */
function elfInfo(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`elfInfo: not an ELF file (${buf.length} bytes)`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`elfInfo: only 64-bit little-endian ELF is read (class ${buf[4]}, data ${buf[5]})`);
  const machineId = buf.readUInt16LE(18);
  const shoff = Number(buf.readBigUInt64LE(40));
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  if (shoff === 0 || shoff + shnum * shentsize > buf.length) throw new Error(`elfInfo: section headers out of range (offset ${shoff}, ${shnum} entries)`);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 24)),
      size: Number(buf.readBigUInt64LE(at + 32)),
      link: buf.readUInt32LE(at + 40),
      info: buf.readUInt32LE(at + 44),
    });
  }
  const needed = [];
  const versions = new Set();
  let buildId;
  for (const s of sections) {
    if (s.type === SHT_DYNAMIC) {
      const strtab = sections[s.link];
      for (let at = s.offset; at + 16 <= s.offset + s.size; at += 16) {
        const tag = Number(buf.readBigInt64LE(at));
        if (tag === 0) break;
        if (tag === DT_NEEDED) needed.push(cString(buf, strtab.offset + Number(buf.readBigUInt64LE(at + 8))));
      }
    } else if (s.type === SHT_GNU_VERNEED) {
      const strtab = sections[s.link];
      let entry = s.offset;
      for (let n = 0; n < s.info; n++) {
        const count = buf.readUInt16LE(entry + 2);
        let aux = entry + buf.readUInt32LE(entry + 8);
        for (let k = 0; k < count; k++) {
          versions.add(cString(buf, strtab.offset + buf.readUInt32LE(aux + 8)));
          aux += buf.readUInt32LE(aux + 12);
        }
        const next = buf.readUInt32LE(entry + 12);
        if (next === 0) break;
        entry += next;
      }
    } else if (s.type === SHT_NOTE) {
      for (let at = s.offset; at + 12 <= s.offset + s.size; ) {
        const namesz = buf.readUInt32LE(at);
        const descsz = buf.readUInt32LE(at + 4);
        const type = buf.readUInt32LE(at + 8);
        const name = buf.toString('latin1', at + 12, at + 12 + namesz).replace(/\0+$/, '');
        const desc = at + 12 + Math.ceil(namesz / 4) * 4;
        if (name === 'GNU' && type === NT_GNU_BUILD_ID) buildId = buf.toString('hex', desc, desc + descsz);
        at = desc + Math.ceil(descsz / 4) * 4;
      }
    }
  }
  const glibcVersions = [...versions].filter((v) => v.startsWith('GLIBC_') && /^GLIBC_\d+(\.\d+)*$/.test(v)).sort(compareVersions);
  return {
    machine: EM_NAMES[machineId] ?? `e_machine ${machineId}`,
    needed,
    glibcVersions,
    maxGlibc: glibcVersions.length > 0 ? glibcVersions[glibcVersions.length - 1].slice('GLIBC_'.length) : undefined,
    otherVersions: [...versions].filter((v) => !v.startsWith('GLIBC_')).sort(),
    buildId,
  };
}

/** Orders 'GLIBC_2.17' before 'GLIBC_2.34' (numeric parts). */
function compareVersions(a, b) {
  const pa = a.replace(/^\D+/, '').split('.').map(Number);
  const pb = b.replace(/^\D+/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The libraries a prebuilt addon may need: glibc's own (libc, libm, libpthread, libdl, the dynamic loader) and
 * nothing else: libstdc++ and libgcc are linked in statically, OpenMP is not used.
 */
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux-(x86-64|aarch64)\.so\.[12])$/;

module.exports = { elfInfo, compareVersions, ALLOWED_NEEDED };

if (require.main === module) {
  for (const file of process.argv.slice(2)) console.log(file, JSON.stringify(elfInfo(fs.readFileSync(file)), null, 1));
}
