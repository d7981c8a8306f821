import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { CsvFormatError } from './errors.js';
import type { GapPolicy } from './preprocess.js';
import { fillGaps } from './preprocess.js';

/**
 * A numeric time series read from CSV: a header row, one sample per row. A column named
 * `timestamp` (any case) is carried through as text and never used as a feature. Empty cells and
 * NaN/NA/null are missing values, handled by the gap policy (default: an error naming the line);
 * anything else that is not a decimal number is an error with its line and column.
 */
export interface MetricsTable {
  file: string;
  /** Feature columns, in file order. */
  metrics: string[];
  /** The timestamp column's cells, when the file has one. */
  timestamps?: string[];
  rows: Float64Array[];
  /** 1-based source line of each row. */
  lines: number[];
  filled: number;
}

export interface ReadCsvOptions {
  /** Default 'error'. */
  gaps?: GapPolicy;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MISSING = new Set(['', 'nan', 'na', 'n/a', 'null', 'none']);

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

function records(text: string, file: string): CsvRecord[] {
  try {
    return parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as unknown as CsvRecord[];
  } catch (cause) {
    const line = (cause as { lines?: number }).lines ?? 0;
    throw new CsvFormatError(`not valid CSV: ${(cause as Error).message}`, { file, line }, cause);
  }
}

export function parseMetricsCsv(text: string, file: string, options: ReadCsvOptions = {}): MetricsTable {
  const recs = records(text, file);
  if (recs.length === 0) throw new CsvFormatError('the file is empty; expected a header row and at least one data row', { file, line: 1 });
  const header = recs[0].record;
  if (header.every((h) => NUMBER.test(h))) {
    throw new CsvFormatError(`the first row (${header.slice(0, 3).join(',')}…) looks like data; add a header row naming the columns`, { file, line: recs[0].info.lines });
  }
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new CsvFormatError(`column ${i + 1} has an empty name in the header`, { file, line: recs[0].info.lines, column: i + 1 });
    if (seen.has(h)) throw new CsvFormatError(`column "${h}" appears twice in the header`, { file, line: recs[0].info.lines, column: h });
    seen.add(h);
  });
  const tsIndex = header.findIndex((h) => h.toLowerCase() === 'timestamp');
  const featureIdx = header.map((_, i) => i).filter((i) => i !== tsIndex);
  if (featureIdx.length === 0) throw new CsvFormatError('the file has no metric column besides the timestamp', { file, line: recs[0].info.lines });
  const metrics = featureIdx.map((i) => header[i]);
  const rows: Float64Array[] = [];
  const lines: number[] = [];
  const timestamps: string[] | undefined = tsIndex >= 0 ? [] : undefined;
  for (let r = 1; r < recs.length; r++) {
    const { record, info } = recs[r];
    const line = info.lines;
    if (record.length !== header.length) {
      throw new CsvFormatError(`row has ${record.length} cells, the header has ${header.length} (ragged row)`, { file, line, expected: header.length, got: record.length });
    }
    const row = new Float64Array(featureIdx.length);
    for (let k = 0; k < featureIdx.length; k++) {
      const cell = record[featureIdx[k]];
      if (NUMBER.test(cell)) row[k] = Number(cell);
      else if (MISSING.has(cell.toLowerCase())) row[k] = Number.NaN;
      else throw new CsvFormatError(`column "${metrics[k]}" holds "${cell.slice(0, 40)}", which is not a number`, { file, line, column: metrics[k] });
    }
    rows.push(row);
    lines.push(line);
    timestamps?.push(record[tsIndex]);
  }
  if (rows.length === 0) throw new CsvFormatError('the file has a header but no data rows', { file, line: recs[0].info.lines });
  let filled = 0;
  try {
    filled = fillGaps(rows, metrics, options.gaps ?? 'error', (i) => ({ line: lines[i] })).filled;
  } catch (cause) {
    const details = (cause as { details?: { line?: number; metric?: string } }).details ?? {};
    throw new CsvFormatError(`${(cause as Error).message}`, { file, line: details.line ?? 0, column: details.metric }, cause);
  }
  return { file, metrics, timestamps, rows, lines, filled };
}

export async function readMetricsCsv(path: string, options: ReadCsvOptions = {}): Promise<MetricsTable> {
  return parseMetricsCsv(await readText(path), path, options);
}

/** Reads a 0/1 label per test row: one column (or a column named `label`), header row first. */
export function parseLabelsCsv(text: string, file: string, expectedRows?: { count: number; file: string }): Uint8Array {
  const recs = records(text, file);
  if (recs.length === 0) throw new CsvFormatError('the label file is empty; expected a header (e.g. "label") and one 0/1 row per test row', { file, line: 1 });
  const header = recs[0].record;
  let col = header.findIndex((h) => h.toLowerCase() === 'label');
  if (col < 0) {
    if (header.length !== 1) throw new CsvFormatError(`the label file has ${header.length} columns and none is named "label"`, { file, line: recs[0].info.lines });
    if (header[0] === '0' || header[0] === '1') throw new CsvFormatError('the first row looks like a label; add a header row (e.g. "label")', { file, line: recs[0].info.lines });
    col = 0;
  }
  const labels = new Uint8Array(recs.length - 1);
  for (let r = 1; r < recs.length; r++) {
    const { record, info } = recs[r];
    if (record.length !== header.length) throw new CsvFormatError(`row has ${record.length} cells, the header has ${header.length} (ragged row)`, { file, line: info.lines });
    const v = record[col];
    if (v !== '0' && v !== '1' && v !== '0.0' && v !== '1.0') throw new CsvFormatError(`label "${v.slice(0, 40)}" is not 0 or 1`, { file, line: info.lines });
    labels[r - 1] = v.startsWith('1') ? 1 : 0;
    if (expectedRows && r > expectedRows.count) {
      throw new CsvFormatError(`more labels than rows: ${expectedRows.file} has ${expectedRows.count} data rows, this is label ${r}`, { file, line: info.lines, labels: recs.length - 1, rows: expectedRows.count });
    }
  }
  if (expectedRows && labels.length !== expectedRows.count) {
    const lastLine = recs[recs.length - 1].info.lines;
    throw new CsvFormatError(`fewer labels than rows: ${labels.length} labels for ${expectedRows.count} data rows in ${expectedRows.file} (the file ends at line ${lastLine})`, {
      file,
      line: lastLine,
      labels: labels.length,
      rows: expectedRows.count,
    });
  }
  return labels;
}

export async function readLabelsCsv(path: string, expectedRows?: { count: number; file: string }): Promise<Uint8Array> {
  return parseLabelsCsv(await readText(path), path, expectedRows);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new CsvFormatError(`cannot read the file: ${(cause as Error).message}`, { file: path, line: 0 }, cause);
  }
}
