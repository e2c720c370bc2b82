import { join } from 'node:path';
import { Command } from 'commander';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { formatUtc, OitraderError, writeFileAtomic } from '@oitrader/core';
import { FEATURES_FILE, MANIFEST_FILE, readFeatureDataset } from '@oitrader/features';
import { classificationReport, finalKnownUntilMs, loadRun, matrixFromColumns } from '@oitrader/ml';
import { commandContext, type GlobalOptions } from '../context.ts';
import type { Output } from '../output.ts';

interface PredictFlags extends GlobalOptions {
  model: string;
  features: string;
  out?: string;
  modelsDir?: string;
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('score a saved model run on a features file: class probabilities to Parquet, and the classification report on rows after the run\'s training span')
    .requiredOption('--model <run-id>', 'model run (see oitrader models list)')
    .option('--features <dir>', `directory holding ${FEATURES_FILE} and its manifest`, 'data/features')
    .option('--models-dir <dir>', 'models directory (default: models.dir)')
    .option('--out <file>', 'Parquet file to write (default: <features>/predictions-<run-id>.parquet)')
    .action(async (_flags, command: Command) => {
      const flags = command.optsWithGlobals<PredictFlags>();
      const { config, out } = commandContext(flags);
      await runPredict(out, join(flags.modelsDir ?? config.models.dir, flags.model), flags.features, flags.out ?? join(flags.features, `predictions-${flags.model}.parquet`));
    });
}

export interface PredictResult {
  rows: number;
  file: string;
  /** Rows after the run's training span (+ label horizon): the only ones scored. */
  outOfSampleRows: number;
}

export async function runPredict(out: Output, runDir: string, featuresDir: string, file: string): Promise<PredictResult> {
  const data = await readFeatureDataset(join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  const { manifest, ensemble } = await loadRun(runDir, { featureSetVersion: data.manifest.featureSetVersion, features: data.names });
  try {
    if (manifest.symbol !== data.manifest.symbol || manifest.timeframe !== data.manifest.timeframe) {
      out.text(`note: run ${manifest.runId} was trained on ${manifest.symbol} ${manifest.timeframe}; these features are ${data.manifest.symbol} ${data.manifest.timeframe}`);
    }
    const x = matrixFromColumns(data.columns, manifest.features);
    const proba = await ensemble.predictSignalProba(x);
    const n = data.time.length;
    const column = (c: number) => Float64Array.from({ length: n }, (_, i) => proba[i * 3 + c]);
    writeFileAtomic(
      file,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'time', data: Array.from(data.time, (t) => new Date(t)), type: 'TIMESTAMP' },
            { name: 'p_short', data: column(0), type: 'DOUBLE' },
            { name: 'p_neutral', data: column(1), type: 'DOUBLE' },
            { name: 'p_long', data: column(2), type: 'DOUBLE' },
          ],
          kvMetadata: [{ key: 'oitrader.model_run', value: manifest.runId }],
        }),
      ),
    );
    const knownUntil = finalKnownUntilMs(manifest);
    const rows = [...data.time.keys()].filter((i) => data.time[i] > knownUntil && !Number.isNaN(proba[i * 3]));
    out.text(`${manifest.runId}: ${n} rows scored → ${file}`);
    if (rows.length === 0) {
      out.text(`no row is after the run's training span (it saw data up to ${manifest.dataSpan.to} plus ${manifest.labels.horizon} bars of labels): no classification report, in-sample scores would flatter the model`);
    } else {
      const r = classificationReport(Float64Array.from(rows.flatMap((i) => [proba[i * 3], proba[i * 3 + 1], proba[i * 3 + 2]])), Int32Array.from(rows, (i) => data.labels[i]), 3, Float64Array.from(rows, (i) => data.forwardReturn[i]));
      out.text(`out of sample (${rows.length} rows from ${formatUtc(data.time[rows[0]])}): accuracy ${r.accuracy.toFixed(3)}, balanced ${r.balancedAccuracy.toFixed(3)}, log-loss ${r.logLoss.toFixed(3)}, directional ${Number.isNaN(r.directionalAccuracy) ? '—' : r.directionalAccuracy.toFixed(3)}`);
      out.result({ file, rows: n, outOfSampleRows: rows.length, report: r });
    }
    if (rows.length === 0) out.result({ file, rows: n, outOfSampleRows: 0 });
    return { rows: n, file, outOfSampleRows: rows.length };
  } catch (error) {
    if (error instanceof OitraderError) throw error;
    throw new OitraderError(`predict failed: ${(error as Error).message}`);
  } finally {
    ensemble.dispose();
  }
}
