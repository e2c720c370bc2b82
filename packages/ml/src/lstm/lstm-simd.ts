/**
 * The LSTM recurrence's matrix product as a WebAssembly SIMD kernel (f32x4),
 * assembled here from its opcodes: the project installs no WebAssembly
 * toolchain, and the kernel is one small loop nest. For each window i of a
 * block: a_i = p_i + h_i·U, where p_i is the (precomputed) input projection
 * of the bar the window reads at this step, h_i its hidden state and U the
 * recurrent kernel (units × gates, row-major). Eight f32x4 accumulators hold
 * 32 gate columns while the units are swept, so each loaded h value feeds 32
 * multiply-adds. Scalar JavaScript managed ~0.7 G multiply-adds/s here,
 * below what 20,000 rows/s needs (32 steps × 32 units × 128 gates per row).
 */

/** The little of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
};

/** Memory the kernel can work in, of at least `bytes` bytes. */
export function kernelMemory(bytes: number): WasmMemory {
  return new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
}

/** Exported function: gemm(n, units, gatesBytes, u, idx, h, a) — byte addresses; idx[i] is window i's p row address. */
export interface GemmKernel {
  gemm(n: number, units: number, gatesBytes: number, u: number, idx: number, h: number, a: number): void;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

// Opcodes (WebAssembly core and SIMD proposals).
const I32 = 0x7f;
const V128 = 0x7b;
const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const GE_U = 0x4f;
const SHL = 0x74;
const i32Load = (offset: number) => [0x28, 2, ...uleb(offset)];
const f32Load = (offset: number) => [0x2a, 2, ...uleb(offset)];
const v128Load = (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)];
const v128Store = (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)];
const F32X4_SPLAT = [0xfd, ...uleb(0x13)];
const F32X4_ADD = [0xfd, ...uleb(0xe4)];
const F32X4_MUL = [0xfd, ...uleb(0xe6)];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const br = (depth: number) => [0x0c, ...uleb(depth)];

const ACCUMULATORS = 8;

function gemmModuleBytes(): Uint8Array {
  // Parameters 0..6: n, units, gatesBytes, u, idx, h, a. Locals: i32 i, q, j, hp, pp, ap, up, hb; v128 acc0..7, hs.
  const [n, units, gatesBytes, u, idx, h, a] = [0, 1, 2, 3, 4, 5, 6];
  const [i, q, j, hp, pp, ap, up, hb] = [7, 8, 9, 10, 11, 12, 13, 14];
  const acc = (k: number) => 15 + k;
  const hs = 15 + ACCUMULATORS;
  const each = (f: (k: number) => number[]) => Array.from({ length: ACCUMULATORS }, (_, k) => f(k)).flat();
  const body = [
    ...get(units), ...i32(2), SHL, ...set(hb),
    ...i32(0), ...set(i),
    ...BLOCK, ...LOOP,
    ...get(i), ...get(n), GE_U, ...brIf(1),
    ...get(idx), ...get(i), ...i32(2), SHL, ADD, ...i32Load(0), ...set(pp),
    ...get(h), ...get(i), ...get(hb), MUL, ADD, ...set(hp),
    ...get(a), ...get(i), ...get(gatesBytes), MUL, ADD, ...set(ap),
    ...i32(0), ...set(q),
    ...BLOCK, ...LOOP,
    ...get(q), ...get(gatesBytes), GE_U, ...brIf(1),
    ...each((k) => [...get(pp), ...get(q), ADD, ...v128Load(16 * k), ...set(acc(k))]),
    ...get(u), ...get(q), ADD, ...set(up),
    ...i32(0), ...set(j),
    ...BLOCK, ...LOOP,
    ...get(j), ...get(hb), GE_U, ...brIf(1),
    ...get(hp), ...get(j), ADD, ...f32Load(0), ...F32X4_SPLAT, ...set(hs),
    ...each((k) => [...get(acc(k)), ...get(hs), ...get(up), ...v128Load(16 * k), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(k))]),
    ...get(up), ...get(gatesBytes), ADD, ...set(up),
    ...get(j), ...i32(4), ADD, ...set(j),
    ...br(0), END, END,
    ...each((k) => [...get(ap), ...get(q), ADD, ...get(acc(k)), ...v128Store(16 * k)]),
    ...get(q), ...i32(16 * ACCUMULATORS), ADD, ...set(q),
    ...br(0), END, END,
    ...get(i), ...i32(1), ADD, ...set(i),
    ...br(0), END, END,
    END,
  ];
  const locals = vec([[8, I32], [ACCUMULATORS + 1, V128]]);
  const code = [...locals, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 1]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('gemm'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

/** Gate columns one pass of the kernel covers: the network's 4·units must be a multiple (units a multiple of 8). */
export const SIMD_GATE_COLUMNS = 4 * ACCUMULATORS;

let compiled: object | null | undefined;

/** The kernel bound to `memory`, or undefined where WebAssembly SIMD is unavailable. */
export function gemmKernel(memory: WasmMemory): GemmKernel | undefined {
  if (compiled === undefined) {
    const bytes = gemmModuleBytes();
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (!compiled) return undefined;
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as GemmKernel;
}
