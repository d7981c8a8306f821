import assert from 'node:assert/strict';
import { CsvFormatError, parseLabelsCsv, parseMetricsCsv } from '../src/index.js';

function csvError(fn: () => unknown, line: number, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CsvFormatError, String(e));
    assert.equal(e.code, 'ANALYTICS_ERR_CSV');
    assert.equal(e.line, line);
    assert.match(e.message, pattern);
    assert.match(e.message, new RegExp(`^${e.file}:${line}: `));
    return true;
  });
}

describe('analytics: CSV input', () => {
  it('reads metrics, carries a timestamp column through, and handles a single metric', () => {
    const t = parseMetricsCsv('timestamp,cpu,mem\n2026-01-01T00:00:00Z,1,2\n2026-01-01T00:01:00Z,3.5,-4e-1\n', 'a.csv');
    assert.deepEqual(t.metrics, ['cpu', 'mem']);
    assert.deepEqual(t.timestamps, ['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z']);
    assert.deepEqual(t.rows.map((r) => [...r]), [
      [1, 2],
      [3.5, -0.4],
    ]);
    assert.deepEqual(t.lines, [2, 3]);
    const u = parseMetricsCsv('value\n1\n\n2\n', 'u.csv');
    assert.deepEqual(u.metrics, ['value']);
    assert.equal(u.timestamps, undefined);
    assert.deepEqual(u.lines, [2, 4]);
  });

  it('ragged rows, non-numeric cells and missing values are errors with the line number', () => {
    csvError(() => parseMetricsCsv('a,b\n1,2\n3\n', 'r.csv'), 3, /1 cells, the header has 2 \(ragged row\)/);
    csvError(() => parseMetricsCsv('a,b\n1,2\n3,4,5\n', 'r.csv'), 3, /ragged/);
    csvError(() => parseMetricsCsv('a,b\n1,2\n3,4\n5,x7\n', 'n.csv'), 4, /column "b" holds "x7", which is not a number/);
    csvError(() => parseMetricsCsv('a,b\n1,2\n3,\n', 'm.csv'), 3, /metric b has a missing/);
    csvError(() => parseMetricsCsv('1,2\n3,4\n', 'h.csv'), 1, /add a header row/);
    csvError(() => parseMetricsCsv('a,b\n', 'e.csv'), 1, /no data rows/);
    csvError(() => parseMetricsCsv('a,"b\n1,2\n', 'q.csv'), 2, /not valid CSV/);
  });

  it('fills gaps only when asked (ffill, zero)', () => {
    const f = parseMetricsCsv('a,b\n1,NaN\n2,5\n,6\n', 'f.csv', { gaps: 'ffill' });
    assert.deepEqual(f.rows.map((r) => [...r]), [
      [1, 5],
      [2, 5],
      [2, 6],
    ]);
    assert.equal(f.filled, 2);
    const z = parseMetricsCsv('a\n1\nnan\n', 'z.csv', { gaps: 'zero' });
    assert.deepEqual(z.rows.map((r) => [...r]), [[1], [0]]);
  });

  it('labels: 0/1 values, one per test row, count mismatch names the line', () => {
    assert.deepEqual([...parseLabelsCsv('label\n0\n1\n1\n', 'l.csv', { count: 3, file: 't.csv' })], [0, 1, 1]);
    assert.deepEqual([...parseLabelsCsv('timestamp,label\nx,0\ny,1\n', 'l.csv')], [0, 1]);
    csvError(() => parseLabelsCsv('label\n0\n1\n1\n', 'l.csv', { count: 2, file: 't.csv' }), 4, /more labels than rows: t.csv has 2 data rows/);
    csvError(() => parseLabelsCsv('label\n0\n1\n', 'l.csv', { count: 5, file: 't.csv' }), 3, /fewer labels than rows: 2 labels for 5 data rows/);
    csvError(() => parseLabelsCsv('label\n0\n2\n', 'l.csv'), 3, /"2" is not 0 or 1/);
    csvError(() => parseLabelsCsv('0\n1\n', 'l.csv'), 1, /header/);
  });
});
