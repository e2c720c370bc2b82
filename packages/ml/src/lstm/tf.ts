import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

let ready: Promise<typeof tf> | undefined;

/**
 * TensorFlow.js on its WebAssembly backend: pure JS + a .wasm shipped inside
 * the npm package (tfjs-node needs a download at install, which these
 * machines cannot do), and ~5x faster than the plain CPU backend for LSTMs.
 */
export function tensorflow(): Promise<typeof tf> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  })();
  return ready;
}
