/**
 * The little WebAssembly assembler the SIMD kernels are written with: the
 * project installs no WebAssembly toolchain, and each kernel is one small
 * loop nest, assembled here from its opcodes (core and SIMD proposals) and
 * checked by WebAssembly.validate before use.
 */

/** The little of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
export interface WasmMemory {
  /** A SharedArrayBuffer for a shared memory. */
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
export const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const PAGE_BYTES = 65536;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

export const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const get = (l: number) => [0x20, ...uleb(l)];
export const set = (l: number) => [0x21, ...uleb(l)];
export const tee = (l: number) => [0x22, ...uleb(l)];
export const i32 = (v: number) => [0x41, ...sleb(v)];
export const f64 = (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
export const ADD = 0x6a;
export const MUL = 0x6c;
export const GE_U = 0x4f;
export const LT_S = 0x48;
export const SHL = 0x74;
export const i32Load = (offset: number) => [0x28, 2, ...uleb(offset)];
export const i32Store = (offset: number) => [0x36, 2, ...uleb(offset)];
export const f32Load = (offset: number) => [0x2a, 2, ...uleb(offset)];
export const f64Load = (offset: number) => [0x2b, 3, ...uleb(offset)];
export const f64Store = (offset: number) => [0x39, 3, ...uleb(offset)];
export const v128Load = (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)];
export const v128Store = (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)];
export const simd = (op: number) => [0xfd, ...uleb(op)];
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = 0x05;
export const END = 0x0b;
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
export const br = (depth: number) => [0x0c, ...uleb(depth)];

/** A module of functions that take only i32 parameters and return nothing, importing env.memory (shared or not). */
export function moduleBytes(functions: Array<{ name: string; params: number; code: number[] }>, sharedMemory = false): Uint8Array {
  const type = (params: number) => [0x60, ...vec(Array.from({ length: params }, () => [I32])), 0];
  // Memory import limits: flag 0 = minimum only; 3 = shared with a maximum (a shared memory must declare one).
  const limits = sharedMemory ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map((f) => type(f.params)))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(functions.map((_, i) => [i]))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, i]))),
    ...section(10, vec(functions.map((f) => [...uleb(f.code.length), ...f.code]))),
  ]);
}
