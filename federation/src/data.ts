import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FederationDataError } from './errors.js';

/** One labeled server-metric data set (the layout of ../shared/data/server-metrics/<name>/). */
export interface LabeledDataset {
  name: string;
  metrics: string[];
  train: Float32Array[];
  test: Float32Array[];
  /** 1 anomalous, 0 normal; one per test row. */
  labels: Uint8Array;
}

/** Parses a numeric CSV with a header row; every bad cell is reported with file, line and column. */
export function parseNumericCsv(text: string, file: string): { header: string[]; rows: Float32Array[] } {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new FederationDataError(`${file} is empty; expected a header row`, { file });
  const header = lines[0].split(',').map((h) => h.trim());
  const rows: Float32Array[] = [];
  for (let n = 1; n < lines.length; n++) {
    const cells = lines[n].split(',');
    if (cells.length !== header.length) {
      throw new FederationDataError(`${file}:${n + 1}: ${cells.length} cells, the header has ${header.length}`, { file, line: n + 1 });
    }
    const row = new Float32Array(cells.length);
    for (let c = 0; c < cells.length; c++) {
      const v = Number(cells[c]);
      if (cells[c].trim() === '' || !Number.isFinite(v)) {
        throw new FederationDataError(`${file}:${n + 1}: column ${header[c]} is "${cells[c]}", not a number`, { file, line: n + 1, column: header[c] });
      }
      row[c] = v;
    }
    rows.push(row);
  }
  return { header, rows };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new FederationDataError(`cannot read ${file}: is the data directory right (…/server-metrics/<name>)?`, { file }, cause);
  }
}

/** Loads `<dir>/train.csv`, `test.csv` and `test_label.csv`, checking that they agree. */
export async function loadLabeledDataset(dir: string, name = dir.split('/').filter(Boolean).pop() ?? dir): Promise<LabeledDataset> {
  const trainFile = join(dir, 'train.csv');
  const testFile = join(dir, 'test.csv');
  const labelFile = join(dir, 'test_label.csv');
  const [train, test, labels] = await Promise.all([readText(trainFile), readText(testFile), readText(labelFile)]);
  const tr = parseNumericCsv(train, trainFile);
  const te = parseNumericCsv(test, testFile);
  const lb = parseNumericCsv(labels, labelFile);
  if (tr.header.join(',') !== te.header.join(',')) {
    throw new FederationDataError(`${testFile}: columns differ from ${trainFile}`, { file: testFile });
  }
  if (lb.rows.length !== te.rows.length) {
    throw new FederationDataError(`${labelFile}: ${lb.rows.length} labels for ${te.rows.length} test rows`, { file: labelFile });
  }
  return { name, metrics: tr.header, train: tr.rows, test: te.rows, labels: Uint8Array.from(lb.rows, (r) => (r[0] > 0 ? 1 : 0)) };
}
