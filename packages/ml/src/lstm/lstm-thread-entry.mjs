// Entry of the LSTM training thread (lstm-thread.ts). Plain JavaScript that
// registers the TypeScript loader itself: a worker does not inherit loader
// hooks registered in code (the CLI's bin registers tsx that way).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { LstmClassifier } = await import('./lstm-classifier.ts');
const x = { data: workerData.data, rows: workerData.rows, cols: workerData.cols };
// One fit at a time, in the order asked: interleaved fits would only share the one core.
let queue = Promise.resolve();
parentPort.on('message', (job) => (queue = queue.then(() => fit(job))));

async function fit({ id, trainRows, classWeight, options }) {
  const model = new LstmClassifier(options);
  const started = performance.now();
  try {
    await model.fit(x, workerData.labels, trainRows, classWeight);
    parentPort.postMessage({ id, json: await model.toJSON(), seconds: (performance.now() - started) / 1000 });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  } finally {
    model.dispose();
  }
}
