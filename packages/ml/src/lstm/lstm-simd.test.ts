import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../gbdt/matrix.ts';
import { scalarKernel } from './lstm-forward.ts';
import { gemmKernel, kernelMemory } from './lstm-simd.ts';

describe('LSTM recurrence kernel (WebAssembly SIMD)', () => {
  it('computes a_i = p_i + h_i·U like the scalar loop, for windows reading scattered p rows', () => {
    const units = 16;
    const gates = 4 * units;
    const n = 7;
    const [U, IDX, H, P] = [0, 8192, 9216, 12288];
    const random = seededRandom(11);
    const fill = (memory: { buffer: ArrayBuffer }) => {
      const f = new Float32Array(memory.buffer);
      const idx = new Int32Array(memory.buffer);
      for (let j = 0; j < units * gates; j++) f[U / 4 + j] = random() * 2 - 1;
      for (let j = 0; j < n * units; j++) f[H / 4 + j] = random() * 2 - 1;
      for (let j = 0; j < 20 * gates; j++) f[P / 4 + j] = random();
      [4, 0, 19, 4, 7, 8, 2].forEach((bar, i) => (idx[IDX / 4 + i] = P + bar * gates * 4));
      return f;
    };
    const simdMemory = kernelMemory(65536 * 2);
    const scalarMemory = kernelMemory(65536 * 2);
    const a = 65536;
    const kernel = gemmKernel(simdMemory);
    assert.ok(kernel, 'Node 20 runs WebAssembly SIMD: the kernel must compile');
    const fs = fill(simdMemory);
    new Float32Array(scalarMemory.buffer).set(fs);
    kernel.gemm(n, units, gates * 4, U, IDX, H, a);
    scalarKernel(scalarMemory).gemm(n, units, gates * 4, U, IDX, H, a);
    const simd = new Float32Array(simdMemory.buffer, a, n * gates);
    const scalar = new Float32Array(scalarMemory.buffer, a, n * gates);
    for (let i = 0; i < simd.length; i++) assert.ok(Math.abs(simd[i] - scalar[i]) < 1e-5, `gate pre-activation ${i}: SIMD ${simd[i]}, scalar ${scalar[i]}`);
  });

  it('updates cell and hidden state like Math.tanh and the hard sigmoid, within 1e-6, from pre-activations far into saturation', () => {
    const units = 8;
    const n = 5;
    const [A, H, C] = [0, 4096, 8192];
    const random = seededRandom(12);
    const simdMemory = kernelMemory(65536);
    const scalarMemory = kernelMemory(65536);
    const f = new Float32Array(simdMemory.buffer);
    for (let j = 0; j < n * 4 * units; j++) f[A / 4 + j] = (random() * 2 - 1) * (j % 3 === 0 ? 12 : 2);
    for (let j = 0; j < n * units; j++) f[C / 4 + j] = (random() * 2 - 1) * 9;
    new Float32Array(scalarMemory.buffer).set(f);
    gemmKernel(simdMemory)!.gates(n, units, 4 * units * 4, A, H, C);
    scalarKernel(scalarMemory).gates(n, units, 4 * units * 4, A, H, C);
    const g = new Float32Array(scalarMemory.buffer);
    for (let j = 0; j < n * units; j++) {
      assert.ok(Math.abs(f[C / 4 + j] - g[C / 4 + j]) < 1e-6, `cell state ${j}: SIMD ${f[C / 4 + j]}, scalar ${g[C / 4 + j]}`);
      assert.ok(Math.abs(f[H / 4 + j] - g[H / 4 + j]) < 1e-6, `hidden state ${j}: SIMD ${f[H / 4 + j]}, scalar ${g[H / 4 + j]}`);
    }
  });

  it('backpropagates through the cell update like the scalar loop, within 1e-5, including saturated gates', () => {
    const units = 8;
    const gates = 4 * units;
    const n = 5;
    const [A, CP, C, DH, DC, DA] = [0, 4096, 8192, 12288, 16384, 20480];
    const random = seededRandom(13);
    const simdMemory = kernelMemory(65536);
    const scalarMemory = kernelMemory(65536);
    const f = new Float32Array(simdMemory.buffer);
    for (let j = 0; j < n * gates; j++) f[A / 4 + j] = (random() * 2 - 1) * (j % 3 === 0 ? 6 : 2);
    for (const at of [CP, C, DH, DC]) for (let j = 0; j < n * units; j++) f[at / 4 + j] = (random() * 2 - 1) * 2;
    new Float32Array(scalarMemory.buffer).set(f);
    gemmKernel(simdMemory)!.gatesBackward(n, units, gates * 4, A, CP, C, DH, DC, DA);
    scalarKernel(scalarMemory).gatesBackward(n, units, gates * 4, A, CP, C, DH, DC, DA);
    const g = new Float32Array(scalarMemory.buffer);
    let zeros = 0;
    for (let j = 0; j < n * gates; j++) {
      if (g[DA / 4 + j] === 0) zeros++;
      assert.ok(Math.abs(f[DA / 4 + j] - g[DA / 4 + j]) < 1e-5, `pre-activation gradient ${j}: SIMD ${f[DA / 4 + j]}, scalar ${g[DA / 4 + j]}`);
    }
    for (let j = 0; j < n * units; j++) assert.ok(Math.abs(f[DC / 4 + j] - g[DC / 4 + j]) < 1e-5, `cell gradient ${j}: SIMD ${f[DC / 4 + j]}, scalar ${g[DC / 4 + j]}`);
    assert.ok(zeros > 0, 'some gates must be saturated (zero gradient) for the test to cover the clip');
  });
});
