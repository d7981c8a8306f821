import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { MonitoredSample } from '@sliceguard/mape';
import { CsvReplayError } from '../errors.js';
import type { Collector } from './collector.js';

export interface CsvReplayOptions {
  /** A CSV file with a header row; or pass `text`. */
  path?: string;
  text?: string;
  /** Column holding the sample time (ms, or an ISO date); default 'timestamp' when present. Not a metric. */
  timestampColumn?: string;
  /** Use the file's timestamps as sample times (default false: the loop's clock, i.e. live replay). */
  useFileTime?: boolean;
  /** Start over at the end (default false: the collector then yields nothing more). */
  loop?: boolean;
  /** Rows returned per collect (default 1). */
  rowsPerTick?: number;
}

/**
 * Replays recorded metrics, one row per monitoring tick. Every column but the timestamp is a
 * metric; an empty cell is a missing value (NaN, which detectors skip), anything else that is not
 * a number is an error naming the line and column.
 */
export function csvReplayCollector(options: CsvReplayOptions): Collector & { readonly remaining: number; readonly rows: number } {
  const source = options.path ?? '<csv text>';
  let text: string;
  if (options.text !== undefined) text = options.text;
  else if (options.path !== undefined) {
    try {
      text = readFileSync(options.path, 'utf8');
    } catch (cause) {
      throw new CsvReplayError(`cannot read ${options.path}: ${(cause as Error).message}`, { path: options.path }, cause);
    }
  } else throw new CsvReplayError('csvReplayCollector needs `path` or `text`');
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (cause) {
    throw new CsvReplayError(`${source}: ${(cause as Error).message}`, { path: source }, cause);
  }
  if (records.length < 2) throw new CsvReplayError(`${source}: needs a header row and at least one data row`, { path: source });
  const header = records[0];
  const tsName = options.timestampColumn ?? (header.includes('timestamp') ? 'timestamp' : undefined);
  const tsIndex = tsName === undefined ? -1 : header.indexOf(tsName);
  if (tsName !== undefined && tsIndex < 0) {
    throw new CsvReplayError(`${source}: timestamp column "${tsName}" is not in the header (${header.join(', ')})`, { path: source, column: tsName });
  }
  if (options.useFileTime && tsIndex < 0) throw new CsvReplayError(`${source}: useFileTime needs a timestamp column`, { path: source });
  const rows: { at?: number; values: Record<string, number> }[] = [];
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    const values: Record<string, number> = {};
    let at: number | undefined;
    for (let c = 0; c < header.length; c++) {
      const cell = rec[c] ?? '';
      if (c === tsIndex) {
        at = /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : Date.parse(cell);
        if (!Number.isFinite(at)) {
          throw new CsvReplayError(`${source}:${r + 1}: timestamp "${cell}" is neither ms nor an ISO date`, { path: source, line: r + 1, column: header[c] });
        }
        continue;
      }
      if (cell === '') {
        values[header[c]] = Number.NaN;
        continue;
      }
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        throw new CsvReplayError(`${source}:${r + 1}: column ${header[c]} holds "${cell}", not a number (leave the cell empty for a missing value)`, {
          path: source,
          line: r + 1,
          column: header[c],
        });
      }
      values[header[c]] = v;
    }
    rows.push({ at, values });
  }
  const perTick = options.rowsPerTick ?? 1;
  let next = 0;
  return {
    name: `csv:${source}`,
    get remaining() {
      return rows.length - next;
    },
    rows: rows.length,
    async collect(request) {
      const out: MonitoredSample[] = [];
      for (let i = 0; i < perTick; i++) {
        if (next >= rows.length) {
          if (!options.loop) break;
          next = 0;
        }
        const row = rows[next++];
        out.push({ at: options.useFileTime ? row.at! : request.now, values: { ...row.values } });
      }
      return out;
    },
  };
}
