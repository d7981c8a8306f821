import assert from 'node:assert/strict';
import { ExpositionParseError, familyOf, parseExposition } from '../src/index.js';

const TEXT = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE latency histogram
latency_bucket{le="+Inf"} 10
latency_sum 3.5
latency_count 10
odd{a="1",} +Inf
nan_metric NaN
neg -Inf
`;

describe('agents: Prometheus exposition parser', () => {
  it('parses the format reference example (labels, escapes, timestamps, special values, types)', () => {
    const e = parseExposition(TEXT);
    assert.equal(e.types.get('http_requests_total'), 'counter');
    assert.equal(e.types.get('rpc_duration_seconds'), 'summary');
    assert.equal(e.help.get('http_requests_total'), 'The total number of HTTP requests.');
    const req = e.samples.filter((s) => s.name === 'http_requests_total');
    assert.deepEqual(req[1], { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestampMs: 1395066363000 });
    const ms = e.samples.find((s) => s.name === 'msdos_file_access_time_seconds')!;
    assert.deepEqual(ms.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    assert.equal(ms.value, 1.458255915e9);
    assert.equal(e.samples.find((s) => s.name === 'metric_without_timestamp_and_labels')?.value, 12.47);
    assert.equal(e.samples.find((s) => s.name === 'odd')?.value, Number.POSITIVE_INFINITY, 'trailing comma in labels is allowed');
    assert.ok(Number.isNaN(e.samples.find((s) => s.name === 'nan_metric')!.value));
    assert.equal(e.samples.find((s) => s.name === 'neg')?.value, Number.NEGATIVE_INFINITY);
    assert.equal(familyOf('latency_bucket', e.types), 'latency');
    assert.equal(familyOf('rpc_duration_seconds_count', e.types), 'rpc_duration_seconds');
    assert.equal(familyOf('unrelated_total', e.types), 'unrelated_total');
  });

  const bad: [string, RegExp][] = [
    ['1metric 3', /expected a metric name/],
    ['m{a=1} 3', /expected '"' to open the value of label a/],
    ['m{a="x} 3', /unterminated value of label a/],
    ['m{a="x\\q"} 3', /invalid escape \\q/],
    ['m{a="1",a="2"} 3', /label a appears twice/],
    ['m twelve', /value "twelve" of m is not a number/],
    ['m', /missing value for m/],
    ['m 1 2 3', /unexpected text after the value/],
    ['m 1 soon', /timestamp "soon" of m is not a number/],
    ['# TYPE m countr', /unknown metric type "countr"/],
  ];
  for (const [line, message] of bad) {
    it(`rejects ${JSON.stringify(line)} with its line number`, () => {
      assert.throws(
        () => parseExposition(`ok 1\n${line}\n`, { source: 'http://x/metrics' }),
        (e: unknown) => e instanceof ExpositionParseError && e.code === 'AGENT_ERR_EXPOSITION' && /^http:\/\/x\/metrics:2: /.test(e.message) && message.test(e.message),
      );
    });
  }

  it('skips and reports bad lines in lenient mode', () => {
    const e = parseExposition('a 1\nb{ 2\nc 3\n', { strict: false });
    assert.deepEqual(
      e.samples.map((s) => s.name),
      ['a', 'c'],
    );
    assert.equal(e.skipped.length, 1);
    assert.equal(e.skipped[0].line, 2);
  });
});
