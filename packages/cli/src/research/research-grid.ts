import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { OitraderError, TIMEFRAMES, type Timeframe } from '@oitrader/core';
import { FEATURE_GROUPS, type FeatureGroup } from '@oitrader/features';

/**
 * Feature families a research configuration trains on. `all` is the default
 * dataset (every family but the calendar); the others take one away or keep
 * only price, so the report can say what open interest adds over price alone.
 */
export const ABLATIONS = {
  all: FEATURE_GROUPS.filter((g) => g !== 'time'),
  'no-oi': FEATURE_GROUPS.filter((g) => g !== 'time' && g !== 'open_interest'),
  'price-only': ['price', 'volume', 'multi_timeframe'],
  'with-calendar': [...FEATURE_GROUPS],
} as const satisfies Record<string, readonly FeatureGroup[]>;
export type Ablation = keyof typeof ABLATIONS;

const positiveInt = z.number().int().positive();

export const researchGridSchema = z
  .object({
    symbols: z.array(z.string().regex(/^[A-Z0-9]{2,20}USDT$/, 'a USDⓈ-M symbol like BTCUSDT')).min(1),
    timeframes: z.array(z.enum(TIMEFRAMES)).min(1).default(['15m']),
    /** Label horizons in bars of each timeframe. */
    horizons: z.array(positiveInt).min(1).default([16]),
    /** Label thresholds on the forward return (fractions). */
    thresholds: z.array(z.number().positive().max(0.5)).min(1).default([0.005]),
    ablations: z.array(z.enum(Object.keys(ABLATIONS) as [Ablation, ...Ablation[]])).min(1).default(['all', 'no-oi', 'price-only']),
    /** Hurdles of the cost-aware rule (expected net return per trade, fractions). */
    hurdles: z.array(z.number().min(0).max(0.1)).min(1).default([0.0005]),
    cpcv: z.object({ groups: positiveInt.default(6), test_groups: positiveInt.default(2), embargo_bars: z.number().int().min(0).optional() }).default({ groups: 6, test_groups: 2 }),
    model: z.object({ trees: positiveInt.default(60), depth: positiveInt.max(12).default(4), learning_rate: z.number().positive().max(1).default(0.1), seed: z.number().int().default(0) }).default({ trees: 60, depth: 4, learning_rate: 0.1, seed: 0 }),
    /** PBO's CSCV blocks (even). */
    pbo_blocks: z.number().int().min(2).default(8),
    start: z.string().optional(),
    end: z.string().optional(),
  })
  .strict();

export type ResearchGrid = z.infer<typeof researchGridSchema> & { timeframes: Timeframe[] };

/** The grid `oitrader research` runs without --grid: the demo's four symbols, 15m, with and without open interest. */
export const DEFAULT_GRID_YAML = `# oitrader research grid (every key optional but symbols)
symbols: [SOLUSDT, BTCUSDT, ETHUSDT, DOGEUSDT]
timeframes: [15m]
horizons: [16]          # bars: 4 hours at 15m
thresholds: [0.005]
ablations: [all, no-oi, price-only]
hurdles: [0.0005]
cpcv: { groups: 6, test_groups: 2 }
model: { trees: 60, depth: 4, learning_rate: 0.1 }
`;

/** Reads and checks a grid file; every mistake names its key and line. */
export function loadResearchGrid(file: string | undefined): ResearchGrid {
  if (file !== undefined && !existsSync(file)) throw new OitraderError(`no research grid at ${file}`, { hint: 'write one like research.example.yaml, or leave out --grid for the default', exitCode: 2 });
  const text = file === undefined ? DEFAULT_GRID_YAML : readFileSync(file, 'utf8');
  const where = file ?? 'the default grid';
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new OitraderError(`${where}: ${doc.errors[0].message}`, { exitCode: 2 });
  const parsed = researchGridSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const node = doc.getIn(issue.path as Array<string | number>, true) as { range?: [number, number] } | undefined;
      const line = node?.range ? text.slice(0, node.range[0]).split('\n').length : undefined;
      return `${issue.path.join('.') || '(top level)'}${line ? ` (line ${line})` : ''}: ${issue.message}`;
    });
    throw new OitraderError(`${where}: ${problems.join('; ')}`, { hint: 'see research.example.yaml for every key', exitCode: 2 });
  }
  const grid = parsed.data as ResearchGrid;
  if (grid.cpcv.test_groups >= grid.cpcv.groups) throw new OitraderError(`${where}: cpcv.test_groups ${grid.cpcv.test_groups} must be below cpcv.groups ${grid.cpcv.groups}`, { exitCode: 2 });
  if (grid.pbo_blocks % 2 !== 0) throw new OitraderError(`${where}: pbo_blocks must be even, got ${grid.pbo_blocks}`, { exitCode: 2 });
  return grid;
}
