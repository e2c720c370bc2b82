import { join } from 'node:path';
import { Command } from 'commander';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { formatUtc, OitraderError, writeFileAtomic } from '@oitrader/core';
import { FEATURES_FILE, MANIFEST_FILE, readFeatureDataset } from '@oitrader/features';
import { classificationReport, evalDataOf, finalKnownUntilMs, loadRun, matrixFromColumns, persistenceProba, type ClassificationReport, type EnsemblePredictions, type StackedEnsemble } from '@oitrader/ml';
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
    .description('score a saved model run on a features file: the ensemble\'s class probabilities to Parquet, and on rows after the run\'s training span every member, the stack and the baselines (prior, persistence) beside the ensemble')
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
  /** Each model and baseline on those rows (empty when there are none). */
  scores: Array<{ name: string; report: ClassificationReport }>;
}

/** Every model's probabilities for every row of the file, a pooled file symbol by symbol (each symbol's rows are one time series). */
async function predictRows(ensemble: StackedEnsemble, columns: Record<string, Float64Array>, features: string[], symbol: string[] | undefined): Promise<EnsemblePredictions> {
  const n = columns[features[0]].length;
  const groups = symbol ? [...new Set(symbol)].map((s) => symbol.flatMap((v, i) => (v === s ? [i] : []))) : [Array.from({ length: n }, (_, i) => i)];
  const k = ensemble.numClass;
  const blank = () => new Float64Array(n * k).fill(Number.NaN);
  const all: EnsemblePredictions = { members: ensemble.baseNames.map((name) => ({ name, raw: blank(), calibrated: blank() })), stack: { raw: blank(), calibrated: blank() }, prior: blank(), ensemble: blank() };
  for (const rows of groups) {
    const picked = Object.fromEntries(features.map((f) => [f, Float64Array.from(rows, (r) => columns[f][r])]));
    const p = await ensemble.predictAll(matrixFromColumns(picked, features));
    const put = (to: Float64Array, from: Float64Array) => rows.forEach((r, i) => to.set(from.subarray(i * k, (i + 1) * k), r * k));
    p.members.forEach((m, i) => {
      put(all.members[i].raw, m.raw);
      put(all.members[i].calibrated, m.calibrated);
    });
    put(all.stack.raw, p.stack.raw);
    put(all.stack.calibrated, p.stack.calibrated);
    put(all.prior, p.prior);
    put(all.ensemble, p.ensemble);
  }
  return all;
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');

export async function runPredict(out: Output, runDir: string, featuresDir: string, file: string): Promise<PredictResult> {
  const data = await readFeatureDataset(join(featuresDir, FEATURES_FILE), join(featuresDir, MANIFEST_FILE));
  const { manifest, ensemble } = await loadRun(runDir, { featureSetVersion: data.manifest.featureSetVersion, features: data.names });
  try {
    if (manifest.symbol !== data.manifest.symbol || manifest.timeframe !== data.manifest.timeframe) {
      out.text(`note: run ${manifest.runId} was trained on ${manifest.symbol} ${manifest.timeframe}; these features are ${data.manifest.symbol} ${data.manifest.timeframe}`);
    }
    if (!ensemble.calibration) out.text(`note: run ${manifest.runId} predates calibration: its probabilities are uncalibrated (train it again for calibrated ones)`);
    const all = await predictRows(ensemble, data.columns, manifest.features, data.symbol);
    const proba = all.ensemble;
    const n = data.time.length;
    const column = (c: number) => Float64Array.from({ length: n }, (_, i) => proba[i * 3 + c]);
    writeFileAtomic(
      file,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'time', data: Array.from(data.time, (t) => new Date(t)), type: 'TIMESTAMP' },
            ...(data.symbol ? [{ name: 'symbol', data: data.symbol, type: 'STRING' as const }] : []),
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
      out.result({ file, rows: n, outOfSampleRows: 0 });
      return { rows: n, file, outOfSampleRows: 0, scores: [] };
    }
    const scores = scoreSideBySide(all, evalDataOf(data), rows, ensemble.use === 'prior' ? 'training prior' : ensemble.use === 'meta' ? 'stacked meta-model' : ensemble.baseNames[ensemble.use]);
    out.text(`out of sample: ${rows.length} rows from ${formatUtc(data.time[rows[0]])} (after the run's training span and its labels' horizon)`);
    out.text(`  ${'model'.padEnd(40)} ${'log-loss'.padStart(8)} ${'accuracy'.padStart(8)} ${'ECE'.padStart(6)} ${'lean IC'.padStart(8)} ${'direction'.padStart(9)}`);
    for (const { name, report: r } of scores) out.text(`  ${name.padEnd(40)} ${f4(r.logLoss).padStart(8)} ${f3(r.accuracy).padStart(8)} ${f3(r.ece).padStart(6)} ${f3(r.leanCorrelation).padStart(8)} ${f3(r.directionalAccuracy).padStart(9)}`);
    const ens = scores[0].report.logLoss;
    const prior = scores.find((s) => s.name === 'training prior')?.report.logLoss;
    if (prior !== undefined) out.text(ens < prior ? `the ensemble beats the training prior on these rows (${f4(ens)} < ${f4(prior)})` : `the ensemble does NOT beat the training prior on these rows (${f4(ens)} ≥ ${f4(prior)})`);
    if (data.symbol) {
      const symbols = [...new Set(rows.map((i) => data.symbol![i]))];
      for (const s of symbols) {
        const mine = rows.filter((i) => data.symbol![i] === s);
        const bySymbol = scoreSideBySide(all, evalDataOf(data), mine, '');
        out.text(`  ${s} (${mine.length} rows): ${bySymbol.map((x) => `${x.name} ${f4(x.report.logLoss)}`).join(', ')}`);
      }
    }
    out.result({ file, rows: n, outOfSampleRows: rows.length, report: scores[0].report, scores: Object.fromEntries(scores.map((s) => [s.name, s.report])) });
    return { rows: n, file, outOfSampleRows: rows.length, scores };
  } catch (error) {
    if (error instanceof OitraderError) throw error;
    throw new OitraderError(`predict failed: ${(error as Error).message}`);
  } finally {
    ensemble.dispose();
  }
}

/** The ensemble, each member (calibrated), the stack (raw and calibrated) and the baselines, on the same rows. */
function scoreSideBySide(all: EnsemblePredictions, data: ReturnType<typeof evalDataOf>, rows: number[], answers: string): Array<{ name: string; report: ClassificationReport }> {
  const report = (proba: Float64Array) => classificationReport(Float64Array.from(rows.flatMap((i) => [proba[i * 3], proba[i * 3 + 1], proba[i * 3 + 2]])), Int32Array.from(rows, (i) => data.y[i]), 3, Float64Array.from(rows, (i) => data.forwardReturn[i]));
  const persistence = new Float64Array(data.x.rows * 3);
  persistence.set(persistenceProba(data, Array.from({ length: data.x.rows }, (_, i) => i)));
  const usable = (p: Float64Array) => rows.every((i) => !Number.isNaN(p[i * 3]));
  return [
    { name: answers ? `ensemble (= ${answers})` : 'ensemble', proba: all.ensemble },
    ...all.members.map((m) => ({ name: `${m.name} (calibrated)`, proba: m.calibrated })),
    { name: 'stacked meta-model, raw', proba: all.stack.raw },
    { name: 'stacked meta-model, calibrated', proba: all.stack.calibrated },
    { name: 'training prior', proba: all.prior },
    { name: 'label persistence', proba: persistence },
    { name: 'uniform (1/3 each)', proba: new Float64Array(data.x.rows * 3).fill(1 / 3) },
  ]
    .filter((m) => usable(m.proba))
    .map((m) => ({ name: m.name, report: report(m.proba) }));
}
