/**
 * The LSTM recurrence as two WebAssembly SIMD kernels (f32x4): the matrix
 * product below and the gates' cell update (`gates`),
 * assembled here from its opcodes: the project installs no WebAssembly
 * toolchain, and the kernel is one small loop nest. For each window i of a
 * block: a_i = p_i + h_i·U, where p_i is the (precomputed) input projection
 * of the bar the window reads at this step, h_i its hidden state and U the
 * recurrent kernel (units × gates, row-major). Eight f32x4 accumulators hold
 * 32 gate columns while the units are swept, so each loaded h value feeds 32
 * multiply-adds. Scalar JavaScript managed ~0.7 G multiply-adds/s here,
 * below what 20,000 rows/s needs (32 steps × 32 units × 128 gates per row);
 * with the product in SIMD, Math.tanh (2 per unit and step) took most of
 * the rest (real set, 21,900 rows: 5,600 → 15,000 → 38,000 rows/s).
 */

import { ADD, BLOCK, br, brIf, END, f32Load, GE_U, get, i32, I32, i32Load, LOOP, moduleBytes, MUL, set, SHL, tee, uleb, V128, v128Load, v128Store, vec, WebAssembly, type WasmMemory } from '../wasm-assembler.ts';

/** Memory the kernel can work in, of at least `bytes` bytes. */
export function kernelMemory(bytes: number): WasmMemory {
  return new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
}

/** Exported function: gemm(n, units, gatesBytes, u, idx, h, a) — byte addresses; idx[i] is window i's p row address. */
export interface GemmKernel {
  gemm(n: number, units: number, gatesBytes: number, u: number, idx: number, h: number, a: number): void;
  /**
   * The cell update for n windows from their pre-activations a (Keras' gate
   * order i, f, c, o; hard-sigmoid gates, tanh): c = f·c + i·tanh(a_c),
   * h = o·tanh(c), in place in h and c (n × units each).
   */
  gates(n: number, units: number, gatesBytes: number, a: number, h: number, c: number): void;
  /**
   * One step of backpropagation through the cell update, for n windows:
   * from the step's pre-activations a, the cell states before (cPrev) and
   * after (c), the loss gradient on the hidden state dh and on the cell
   * state dc (in place: on return, the gradient on cPrev), writes the
   * gradient on the pre-activations to da (n × gates). Hard-sigmoid
   * derivative 0.2 where 0 ≤ 0.2·x + 0.5 ≤ 1, as tfjs' clipByValue gradient.
   */
  gatesBackward(n: number, units: number, gatesBytes: number, a: number, cPrev: number, c: number, dh: number, dc: number, da: number): void;
  /** For each of n rows of src (gatesBytes each): adds it into the row at idx[r] + delta (rows may repeat: they sum). */
  addRows(n: number, gatesBytes: number, idx: number, delta: number, src: number): void;
}

const F32X4_SPLAT = [0xfd, ...uleb(0x13)];
const F32X4_ADD = [0xfd, ...uleb(0xe4)];
const F32X4_MUL = [0xfd, ...uleb(0xe6)];
const F32X4_DIV = [0xfd, ...uleb(0xe7)];
const F32X4_MIN = [0xfd, ...uleb(0xe8)];
const F32X4_MAX = [0xfd, ...uleb(0xe9)];
const F32X4_SUB = [0xfd, ...uleb(0xe5)];
const F32X4_LE = [0xfd, ...uleb(0x45)];
const F32X4_GE = [0xfd, ...uleb(0x46)];
const V128_AND = [0xfd, ...uleb(0x4e)];
/** f32x4 with every lane v. */
const splat = (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer), ...F32X4_SPLAT];

const ACCUMULATORS = 8;

/** tfjs' hardSigmoid of the f32x4 on the stack: clip(0.2·x + 0.5, 0, 1). */
const hardSigmoid = [...splat(0.2), ...F32X4_MUL, ...splat(0.5), ...F32X4_ADD, ...splat(0), ...F32X4_MAX, ...splat(1), ...F32X4_MIN];

/**
 * tanh of the f32x4 on the stack, as Eigen and ONNX Runtime's MLAS compute
 * it in float32: the input clamped to ±7.905311 (where float32 tanh is ±1),
 * then a 13/6-degree rational function; within 1e-6 of Math.tanh
 * (lstm-simd.test.ts). Uses two v128 scratch locals.
 */
function tanh(x: number, x2: number): number[] {
  const odd = [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5, 6.37261928875436e-4, 4.89352455891786e-3];
  const even = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];
  const horner = (coefficients: number[]) => [...splat(coefficients[0]), ...coefficients.slice(1).flatMap((c) => [...get(x2), ...F32X4_MUL, ...splat(c), ...F32X4_ADD])];
  return [
    ...splat(7.90531110763549805), ...F32X4_MIN, ...splat(-7.90531110763549805), ...F32X4_MAX, ...tee(x),
    ...get(x), ...F32X4_MUL, ...set(x2),
    ...horner(odd), ...get(x), ...F32X4_MUL,
    ...horner(even), ...F32X4_DIV,
  ];
}

function gatesBody(): number[] {
  // Parameters 0..5: n, units, gatesBytes, a, h, c. Locals: i32 r, u, ub, ar, hr; v128 cell, x, x2.
  const [n, units, gatesBytes, a, h, c] = [0, 1, 2, 3, 4, 5];
  const [r, u, ub, ar, hr] = [6, 7, 8, 9, 10];
  const [cell, x, x2] = [11, 12, 13];
  const gate = (which: number) => [...get(ar), ...get(u), ADD, ...(which > 0 ? [...get(ub), ...i32(which), MUL, ADD] : []), ...v128Load(0)];
  const body = [
    ...get(units), ...i32(2), SHL, ...set(ub),
    ...i32(0), ...set(r),
    ...BLOCK, ...LOOP,
    ...get(r), ...get(n), GE_U, ...brIf(1),
    ...get(a), ...get(r), ...get(gatesBytes), MUL, ADD, ...set(ar),
    ...get(r), ...get(ub), MUL, ...set(hr),
    ...i32(0), ...set(u),
    ...BLOCK, ...LOOP,
    ...get(u), ...get(ub), GE_U, ...brIf(1),
    // cell = hs(f)·c + hs(i)·tanh(a_c)
    ...gate(1), ...hardSigmoid, ...get(c), ...get(hr), ADD, ...get(u), ADD, ...v128Load(0), ...F32X4_MUL,
    ...gate(0), ...hardSigmoid, ...gate(2), ...tanh(x, x2), ...F32X4_MUL, ...F32X4_ADD, ...set(cell),
    ...get(c), ...get(hr), ADD, ...get(u), ADD, ...get(cell), ...v128Store(0),
    // h = hs(o)·tanh(cell)
    ...get(h), ...get(hr), ADD, ...get(u), ADD,
    ...gate(3), ...hardSigmoid, ...get(cell), ...tanh(x, x2), ...F32X4_MUL, ...v128Store(0),
    ...get(u), ...i32(16), ADD, ...set(u),
    ...br(0), END, END,
    ...get(r), ...i32(1), ADD, ...set(r),
    ...br(0), END, END,
    END,
  ];
  return [...vec([[5, I32], [3, V128]]), ...body];
}

function gatesBackwardBody(): number[] {
  // Parameters 0..8: n, units, gatesBytes, a, cPrev, c, dh, dc, da. Locals: i32 r, u, ub, ar, hr; v128 tc, ao, dcs, dhv, y, x, x2.
  const [n, units, gatesBytes, a, cPrev, c, dh, dc, da] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [r, u, ub, ar, hr] = [9, 10, 11, 12, 13];
  const [tc, ao, dcs, dhv, y, x, x2] = [14, 15, 16, 17, 18, 19, 20];
  const gateAt = (base: number, which: number) => [...get(base), ...get(ar), ADD, ...get(u), ADD, ...(which > 0 ? [...get(ub), ...i32(which), MUL, ADD] : [])];
  const gate = (which: number) => [...gateAt(a, which), ...v128Load(0)];
  const unitAt = (base: number) => [...get(base), ...get(hr), ADD, ...get(u), ADD];
  // 0.2 where the hard sigmoid of the f32x4 on the stack is unclipped, else 0.
  const hardSigmoidSlope = [...splat(0.2), ...F32X4_MUL, ...splat(0.5), ...F32X4_ADD, ...tee(y), ...splat(0), ...F32X4_GE, ...get(y), ...splat(1), ...F32X4_LE, ...V128_AND, ...splat(0.2), ...V128_AND];
  const oneMinusSquare = (l: number) => [...splat(1), ...get(l), ...get(l), ...F32X4_MUL, ...F32X4_SUB];
  const body = [
    ...get(units), ...i32(2), SHL, ...set(ub),
    ...i32(0), ...set(r),
    ...BLOCK, ...LOOP,
    ...get(r), ...get(n), GE_U, ...brIf(1),
    ...get(r), ...get(gatesBytes), MUL, ...set(ar),
    ...get(r), ...get(ub), MUL, ...set(hr),
    ...i32(0), ...set(u),
    ...BLOCK, ...LOOP,
    ...get(u), ...get(ub), GE_U, ...brIf(1),
    ...unitAt(c), ...v128Load(0), ...tanh(x, x2), ...set(tc),
    ...unitAt(dh), ...v128Load(0), ...set(dhv),
    ...gate(3), ...hardSigmoid, ...set(ao),
    // dcs = dc + dh·o·(1 − tanh²(c))
    ...unitAt(dc), ...v128Load(0), ...get(dhv), ...get(ao), ...F32X4_MUL, ...oneMinusSquare(tc), ...F32X4_MUL, ...F32X4_ADD, ...set(dcs),
    // da_o = dh·tanh(c)·hs'(a_o)
    ...gateAt(da, 3), ...get(dhv), ...get(tc), ...F32X4_MUL, ...gate(3), ...hardSigmoidSlope, ...F32X4_MUL, ...v128Store(0),
    // da_c = dcs·hs(a_i)·(1 − tanh²(a_c)); x keeps tanh(a_c) for da_i
    ...gateAt(da, 2), ...get(dcs), ...gate(0), ...hardSigmoid, ...F32X4_MUL, ...gate(2), ...tanh(x, x2), ...set(ao), ...oneMinusSquare(ao), ...F32X4_MUL, ...v128Store(0),
    // da_i = dcs·tanh(a_c)·hs'(a_i)
    ...gateAt(da, 0), ...get(dcs), ...get(ao), ...F32X4_MUL, ...gate(0), ...hardSigmoidSlope, ...F32X4_MUL, ...v128Store(0),
    // da_f = dcs·cPrev·hs'(a_f)
    ...gateAt(da, 1), ...get(dcs), ...unitAt(cPrev), ...v128Load(0), ...F32X4_MUL, ...gate(1), ...hardSigmoidSlope, ...F32X4_MUL, ...v128Store(0),
    // dc ← dcs·hs(a_f)
    ...unitAt(dc), ...get(dcs), ...gate(1), ...hardSigmoid, ...F32X4_MUL, ...v128Store(0),
    ...get(u), ...i32(16), ADD, ...set(u),
    ...br(0), END, END,
    ...get(r), ...i32(1), ADD, ...set(r),
    ...br(0), END, END,
    END,
  ];
  return [...vec([[5, I32], [7, V128]]), ...body];
}

function addRowsBody(): number[] {
  // Parameters 0..4: n, gatesBytes, idx, delta, src. Locals: i32 r, q, d.
  const [n, gatesBytes, idx, delta, src] = [0, 1, 2, 3, 4];
  const [r, q, d] = [5, 6, 7];
  const body = [
    ...i32(0), ...set(r),
    ...BLOCK, ...LOOP,
    ...get(r), ...get(n), GE_U, ...brIf(1),
    ...get(idx), ...get(r), ...i32(2), SHL, ADD, ...i32Load(0), ...get(delta), ADD, ...set(d),
    ...i32(0), ...set(q),
    ...BLOCK, ...LOOP,
    ...get(q), ...get(gatesBytes), GE_U, ...brIf(1),
    ...get(d), ...get(q), ADD,
    ...get(d), ...get(q), ADD, ...v128Load(0),
    ...get(src), ...get(q), ADD, ...v128Load(0), ...F32X4_ADD, ...v128Store(0),
    ...get(q), ...i32(16), ADD, ...set(q),
    ...br(0), END, END,
    ...get(src), ...get(gatesBytes), ADD, ...set(src),
    ...get(r), ...i32(1), ADD, ...set(r),
    ...br(0), END, END,
    END,
  ];
  return [...vec([[3, I32]]), ...body];
}

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
  const gates = gatesBody();
  const backward = gatesBackwardBody();
  const addRows = addRowsBody();
  return moduleBytes([
    { name: 'gemm', params: 7, code },
    { name: 'gates', params: 6, code: gates },
    { name: 'gatesBackward', params: 9, code: backward },
    { name: 'addRows', params: 5, code: addRows },
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
