import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { gbdtKernelModule } from './gbdt/kernels.ts';
import { gemmKernel, kernelMemory } from './lstm/lstm-simd.ts';
import { compileWat } from './wasm-kernels.ts';

describe('the SIMD kernels, written as WebAssembly text', () => {
  it('assemble, validate and compile on this runtime (Node 20: SIMD and shared memory) — the kernel tests never skip here', () => {
    assert.ok(gbdtKernelModule(), 'kernels.wat did not compile: the GBDT would fall back to JavaScript and its kernel tests would skip');
    assert.ok(gemmKernel(kernelMemory(1 << 16)), 'lstm-kernels.wat did not compile');
  });

  it('a kernel file with a mistake is refused with its file, line and the assembler\'s reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oitrader-wat-'));
    const file = join(dir, 'broken.wat');
    writeFileSync(file, '(module\n  (func (export "f") (param $a i32)\n    (local.set $b (local.get $a))))\n');
    assert.throws(() => compileWat(pathToFileURL(file)), (e: Error) => e.message.includes('broken.wat:3') && /undefined local variable "\$b"/.test(e.message));
  });

  it('no kernel is an array of opcodes any more: every module comes from a .wat file', () => {
    const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const offenders = sources(new URL('.', import.meta.url).pathname).filter((f) => /0xfd, \.\.\.uleb|moduleBytes\(|wasm-assembler/.test(readFileSync(f, 'utf8')) && !f.endsWith('wasm-kernels.test.ts'));
    assert.deepEqual(offenders, []);
  });
});
