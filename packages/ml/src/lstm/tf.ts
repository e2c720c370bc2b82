import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as TF from '@tensorflow/tfjs';

let ready: Promise<typeof TF> | undefined;

/**
 * TensorFlow.js on its WebAssembly backend: pure JS + a .wasm shipped inside
 * the npm package (tfjs-node needs a download at install, which these
 * machines cannot do), and ~5x faster than the plain CPU backend for LSTMs.
 * Loaded on first use: its 7 MB of JavaScript cost every command that never
 * trains an LSTM half a second of start-up.
 */
export function tensorflow(): Promise<typeof TF> {
  ready ??= (async () => {
    const [tf, { setWasmPaths }] = await Promise.all([import('@tensorflow/tfjs'), import('@tensorflow/tfjs-backend-wasm')]);
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  })();
  return ready;
}
