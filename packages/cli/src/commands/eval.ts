import { writeFile } from 'node:fs/promises';
import type { BackendPreference, DetectorKind, EvaluationResult, GapPolicy, ScoreMode, ThresholdMethod } from '@sliceguard/analytics';
import { BACKEND_NAMES, DEFAULT_BASELINE_WINDOW, DETECTOR_KINDS, evaluateDetector, readLabelsCsv, readMetricsCsv, SCORE_MODES, scoresCsv, THRESHOLD_METHODS } from '@sliceguard/analytics';
import type { Logger } from '@sliceguard/core';
import { InvalidInputError } from '@sliceguard/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { emit } from '../context.js';

interface EvalOptions {
  train: string;
  test: string;
  labels: string;
  detector: string;
  threshold: string;
  quantile?: string;
  risk?: string;
  json?: boolean;
  scoresOut?: string;
  saveModel?: string;
  model?: string;
  backend: string;
  gaps: string;
  window?: string;
  units?: string;
  epochs?: string;
  batchSize?: string;
  validationSplit?: string;
  patience?: string;
  maxTrainWindows?: string;
  learningRate?: string;
  seed?: string;
  score?: string;
  scoreBaseline?: string | boolean;
  statMethod?: string;
  statWindow?: string;
  verbose?: boolean;
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`--${name} must be a non-negative integer, got "${v}"`, { option: name });
  return n;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidInputError(`--${name} must be a number, got "${v}"`, { option: name });
  return n;
}

/** --score-baseline: absent → undefined (the model's own), bare → the default window, 0 → off, N → window N. */
function scoreBaseline(v: string | boolean | undefined): { window: number } | null | undefined {
  if (v === undefined) return undefined;
  if (v === true) return { window: DEFAULT_BASELINE_WINDOW };
  const n = int('score-baseline', String(v)) as number;
  if (n === 0) return null;
  if (n < 3) throw new InvalidInputError(`--score-baseline must be 0 (off) or a window of at least 3 scores, got "${String(v)}"`, { option: 'score-baseline' });
  return { window: n };
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new InvalidInputError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`, { option: name });
  return v as T;
}

/** Progress and the backend choice go to stderr (ctx.err) so stdout stays clean for --json. */
function stderrLogger(ctx: CliContext, verbose: boolean): Logger {
  const write = (level: string, obj: unknown, msg?: string): void => {
    const fields = obj && typeof obj === 'object' ? Object.entries(obj as Record<string, unknown>).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`) : [String(obj)];
    ctx.err(`${level === 'info' ? '' : `${level}: `}${msg ?? ''} ${fields.join(' ')}\n`);
  };
  const logger: Logger = {
    child: () => logger,
    trace: () => {},
    debug: (o, m) => {
      if (verbose) write('debug', o, m);
    },
    info: (o, m) => write('info', o, m),
    warn: (o, m) => write('warn', o, m),
    error: (o, m) => write('error', o, m),
  };
  return logger;
}

const baselineOf = (r: EvaluationResult): { window: number } | null => (r.config.scoreBaseline as { window: number } | null | undefined) ?? null;

const f3 = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));

function human(r: EvaluationResult, files: { train: string; test: string }): string {
  const p = r.report;
  return [
    `detector ${r.detector}${r.backend ? ` (TensorFlow.js backend ${r.backend})` : ''} on ${r.metrics.length} metric(s)`,
    `train ${files.train}: ${r.trainRows} rows; test ${files.test}: ${r.testRows} rows, ${p.anomalousRows} anomalous in ${p.events} event(s)`,
    `threshold ${r.threshold.method}${r.threshold.adaptive ? ' (adaptive)' : ''}: ${r.threshold.initial.toPrecision(6)} from training scores${r.threshold.adaptive ? `, ${r.threshold.final.toPrecision(6)} at the end` : ''}`,
    ...(baselineOf(r) ? [`relative score: window score / median of the last ${baselineOf(r)?.window} normal window scores (threshold in those units)`] : []),
    '',
    `  precision ${f3(p.precision)}  recall ${f3(p.recall)}  F1 ${f3(p.f1)}            (no adjustment)`,
    `  precision ${f3(p.pointAdjusted.precision)}  recall ${f3(p.pointAdjusted.recall)}  F1 ${f3(p.pointAdjusted.f1)}            (point-adjusted)`,
    `  event recall ${f3(p.eventRecall)} (${p.detectedEvents}/${p.events})  composite F1 ${f3(p.compositeF1)}`,
    `  mean detection delay ${p.meanDetectionDelayRows === null ? 'n/a' : `${p.meanDetectionDelayRows.toFixed(1)} rows`}   ROC-AUC ${f3(p.rocAuc)}`,
    ...r.alternatives.map(
      (a) =>
        `  with threshold ${a.threshold.method} (${a.threshold.initial.toPrecision(6)}): F1 ${f3(a.report.f1)}  point-adjusted F1 ${f3(a.report.pointAdjusted.f1)}  composite F1 ${f3(a.report.compositeF1)}  delay ${a.report.meanDetectionDelayRows === null ? 'n/a' : a.report.meanDetectionDelayRows.toFixed(1)}`,
    ),
    `  training ${r.trainingSeconds.toFixed(1)} s${r.loadedFrom ? ` (saved model ${r.loadedFrom})` : ''} (+${r.calibrationSeconds.toFixed(1)} s threshold calibration)   inference ${r.inferenceMsPerWindow.toFixed(3)} ms/window`,
  ].join('\n');
}

/** Registers `sliceguard eval`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('eval')
    .description('train a detector on normal data, set its threshold from the training data only, and score it on labelled test data')
    .requiredOption('--train <file>', 'training CSV (header row; a `timestamp` column is carried, not used)')
    .requiredOption('--test <file>', 'test CSV with the same columns')
    .requiredOption('--labels <file>', 'labels CSV: one 0/1 column, one row per test row')
    .option('--detector <name>', `${DETECTOR_KINDS.join(' | ')}`, 'lstm-ae')
    .option('--threshold <methods>', `${THRESHOLD_METHODS.join(' | ')} (p99: the paper's static 99th percentile); a comma list scores the same run with each (the first drives --scores-out and --save-model)`, 'p99')
    .option('--quantile <q>', 'quantile for p99/rolling (default 0.99)')
    .option('--risk <p>', 'pot/spot: exceedance probability of the threshold (default 1e-3)')
    .option('--json', 'print the result as JSON')
    .option('--scores-out <file>', 'write one CSV row per test row: timestamp or row, score, threshold, anomalous')
    .option('--save-model <dir>', 'save the trained LSTM model (weights, scaler, threshold) to this directory')
    .option('--model <dir>', 'evaluate a saved LSTM model instead of training one (threshold re-calibrated on --train)')
    .option('--backend <name>', `TensorFlow.js backend: auto | ${BACKEND_NAMES.join(' | ')}`, 'auto')
    .option('--gaps <policy>', 'missing cells: error | ffill | zero', 'error')
    .option('--window <n>', 'LSTM window length (default 30)')
    .option('--units <list>', 'LSTM encoder units, comma-separated (default 32); the decoder mirrors them')
    .option('--epochs <n>', 'training epochs (default 30)')
    .option('--batch-size <n>', 'batch size (default 50)')
    .option('--validation-split <f>', 'held-out fraction for validation / early stopping (default 0.2)')
    .option('--patience <n>', 'early-stopping patience in epochs, 0 = off (default 5)')
    .option('--max-train-windows <n>', 'train on at most n evenly spaced windows (subsampling; threshold still uses every training window)')
    .option('--learning-rate <lr>', 'Adam learning rate (default 1e-3)')
    .option('--seed <n>', 'initial-weight seed (default 1)')
    .option('--score <mode>', `LSTM window score: ${SCORE_MODES.join(' | ')} (mae: the paper; normalized: each metric's error divided by its mean training error). Default: mae, or a saved model's own`)
    .option(
      '--score-baseline [windows]',
      `LSTM relative score: each window score divided by the median of the last <windows> normal window scores (drift-robust; threshold calibrated on the training scores transformed the same way). Bare flag: ${DEFAULT_BASELINE_WINDOW} (one day at 1-minute sampling); 0: off. Default: off, or a saved model's own`,
    )
    .option('--stat-method <m>', 'statistical baseline: robust-z | ewma (default robust-z)')
    .option('--stat-window <n>', 'statistical baseline window in rows (default 120)')
    .option('--verbose', 'log every epoch')
    .action(async (opts: EvalOptions) => {
      const detector = oneOf<DetectorKind>('detector', opts.detector, DETECTOR_KINDS);
      const [method, ...extra] = opts.threshold.split(',').map((m) => oneOf<ThresholdMethod>('threshold', m.trim(), THRESHOLD_METHODS));
      const backend = oneOf<BackendPreference>('backend', opts.backend, ['auto', ...BACKEND_NAMES]);
      const gaps = oneOf<GapPolicy>('gaps', opts.gaps, ['error', 'ffill', 'zero']);
      const units = opts.units?.split(',').map((u) => int('units', u.trim()) as number);
      const logger = stderrLogger(ctx, Boolean(opts.verbose));
      const train = await readMetricsCsv(opts.train, { gaps });
      const test = await readMetricsCsv(opts.test, { gaps });
      const labels = await readLabelsCsv(opts.labels, { count: test.rows.length, file: opts.test });
      const result = await evaluateDetector(train, test, labels, {
        detector,
        backend,
        logger,
        saveModelDir: opts.saveModel,
        loadModelDir: opts.model,
        threshold: { method, quantile: num('quantile', opts.quantile), risk: num('risk', opts.risk) },
        extraThresholds: extra.map((m) => ({ method: m, quantile: num('quantile', opts.quantile), risk: num('risk', opts.risk) })),
        score: opts.score === undefined ? undefined : { mode: oneOf<ScoreMode>('score', opts.score, SCORE_MODES) },
        scoreBaseline: scoreBaseline(opts.scoreBaseline),
        model: { window: int('window', opts.window), encoderUnits: units, learningRate: num('learning-rate', opts.learningRate), seed: int('seed', opts.seed) },
        train: {
          epochs: int('epochs', opts.epochs),
          batchSize: int('batch-size', opts.batchSize),
          validationSplit: num('validation-split', opts.validationSplit),
          patience: int('patience', opts.patience),
          maxWindows: int('max-train-windows', opts.maxTrainWindows),
          onEpoch: (epoch, l) =>
            logger.debug({ epoch: epoch + 1, loss: Number(l.loss.toFixed(5)), valLoss: l.valLoss === undefined ? undefined : Number(l.valLoss.toFixed(5)), seconds: Number(l.seconds.toFixed(1)) }, 'epoch'),
        },
        statistical: {
          method: opts.statMethod === undefined ? undefined : oneOf('stat-method', opts.statMethod, ['robust-z', 'ewma'] as const),
          window: int('stat-window', opts.statWindow),
        },
      });
      if (opts.scoresOut) await writeFile(opts.scoresOut, scoresCsv(result, test));
      const { scores: _s, thresholds: _t, flags: _f, ...summary } = result;
      emit(ctx, opts.json, { train: opts.train, test: opts.test, labels: opts.labels, ...summary }, () => human(result, opts));
    });
}
