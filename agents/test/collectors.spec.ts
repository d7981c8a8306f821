import assert from 'node:assert/strict';
import { SimulatedClock } from '@sliceguard/core';
import type { MonitoringConfig } from '@sliceguard/mape';
import { CollectorError, collectorMonitoring, CsvReplayError, csvReplayCollector, prometheusCollector, pushFeed } from '../src/index.js';

const AGG: MonitoringConfig = { samplingPeriodMs: 1000, granularity: 'aggregate' };
const FLOW: MonitoringConfig = { samplingPeriodMs: 1000, granularity: 'per_flow' };

function fakeFetch(pages: string[], status = 200): typeof fetch & { calls: number } {
  const f = (async () => {
    f.calls++;
    const body = pages[Math.min(f.calls - 1, pages.length - 1)];
    return new Response(body, { status });
  }) as unknown as typeof fetch & { calls: number };
  f.calls = 0;
  return f;
}

describe('agents: collectors', () => {
  describe('prometheusCollector', () => {
    const page = (req: number, conns: number, sum: number, count: number) => `# TYPE http_requests_total counter
http_requests_total{source="10.0.0.1"} ${req * 0.9}
http_requests_total{source="10.0.0.2"} ${req * 0.1}
# TYPE open_connections gauge
open_connections{source="10.0.0.1"} ${conns}
open_connections{source="10.0.0.2"} 5
# TYPE http_response_ms histogram
http_response_ms_bucket{le="+Inf"} ${count}
http_response_ms_sum ${sum}
http_response_ms_count ${count}
`;

    it('turns counters into per-second rates, sums gauges, derives histogram means', async () => {
      const clock = new SimulatedClock(10_000);
      const fetch = fakeFetch([page(1000, 20, 500, 100), page(3000, 40, 1500, 300)]);
      const c = prometheusCollector({ url: 'http://nf/metrics', clock, fetch });
      const [first] = await c.collect({ now: clock.now(), config: AGG });
      assert.equal(first.values.open_connections, 25);
      assert.equal(first.values.http_requests_per_s, undefined, 'no rate on the first scrape');
      await clock.advance(2000);
      const [second] = await c.collect({ now: clock.now(), config: AGG });
      assert.equal(second.values.http_requests_per_s, 1000, '2000 requests in 2 s');
      assert.equal(second.values.open_connections, 45);
      assert.equal(second.values.http_response_ms_mean, 5, '1000 ms over 200 observations');
      assert.equal(second.flows, undefined, 'no flows at aggregate granularity');
    });

    it('reports per-flow statistics at per-flow granularity, filtered to the configured metrics', async () => {
      const clock = new SimulatedClock(0);
      const c = prometheusCollector({ url: 'http://nf/metrics', clock, fetch: fakeFetch([page(1000, 20, 1, 1), page(2000, 30, 2, 2)]) });
      const ms = collectorMonitoring(c);
      ms.configure({ ...FLOW, metrics: ['http_requests_per_s'] });
      await ms.collect({ loopId: 'x', now: 0 });
      await clock.advance(1000);
      const [s] = await ms.collect({ loopId: 'x', now: clock.now() });
      assert.deepEqual(Object.keys(s.values), ['http_requests_per_s']);
      const flows = Object.fromEntries((s.flows ?? []).map((f) => [f.key, f.values.http_requests_per_s]));
      assert.deepEqual(flows, { '10.0.0.1': 900, '10.0.0.2': 100 });
    });

    it('fails a scrape with a clear error on HTTP errors and unreachable exporters', async () => {
      const clock = new SimulatedClock(0);
      const c = prometheusCollector({ url: 'http://nf/metrics', clock, fetch: fakeFetch(['x'], 503) });
      await assert.rejects(() => c.collect({ now: 0, config: AGG }), (e: unknown) => e instanceof CollectorError && /answered HTTP 503/.test(e.message));
      const broken = (async () => {
        throw new TypeError('connect ECONNREFUSED');
      }) as unknown as typeof fetch;
      const d = prometheusCollector({ url: 'http://nf/metrics', clock, fetch: broken });
      await assert.rejects(() => d.collect({ now: 0, config: AGG }), /cannot scrape http:\/\/nf\/metrics: connect ECONNREFUSED/);
      assert.equal(d.stats().failures, 1);
    });

    it('strict by default, lenient on request', async () => {
      const clock = new SimulatedClock(0);
      const text = 'good 1\nbad{ 2\n';
      await assert.rejects(() => prometheusCollector({ url: 'u', clock, fetch: fakeFetch([text]) }).collect({ now: 0, config: AGG }), /u:2:/);
      const lenient = prometheusCollector({ url: 'u', clock, fetch: fakeFetch([text]), lenient: true });
      const [s] = await lenient.collect({ now: 0, config: AGG });
      assert.equal(s.values.good, 1);
      assert.equal(lenient.stats().skippedLines, 1);
    });
  });

  describe('csvReplayCollector', () => {
    it('replays one row per tick at the loop clock, empty cells as missing values', async () => {
      const c = csvReplayCollector({ text: 'timestamp,cpu,rps\n1000,0.5,10\n2000,,12\n' });
      assert.equal(c.rows, 2);
      const [a] = await c.collect({ now: 50, config: AGG });
      assert.deepEqual(a, { at: 50, values: { cpu: 0.5, rps: 10 } });
      const [b] = await c.collect({ now: 60, config: AGG });
      assert.ok(Number.isNaN(b.values.cpu));
      assert.deepEqual(await c.collect({ now: 70, config: AGG }), [], 'exhausted');
      const looping = csvReplayCollector({ text: 'timestamp,cpu\n5,1\n', loop: true, useFileTime: true });
      await looping.collect({ now: 0, config: AGG });
      assert.deepEqual(await looping.collect({ now: 0, config: AGG }), [{ at: 5, values: { cpu: 1 } }]);
    });

    it('rejects bad files with line and column', () => {
      assert.throws(() => csvReplayCollector({ text: 'cpu,rps\n1,2\n3,abc\n' }), (e: unknown) => e instanceof CsvReplayError && /:3: column rps holds "abc"/.test(e.message));
      assert.throws(() => csvReplayCollector({ text: 'timestamp,cpu\nyesterday,1\n' }), /timestamp "yesterday" is neither ms nor an ISO date/);
      assert.throws(() => csvReplayCollector({ text: 'cpu\n' }), /needs a header row and at least one data row/);
      assert.throws(() => csvReplayCollector({ path: '/nonexistent/file.csv' }), /cannot read \/nonexistent\/file.csv/);
      assert.throws(() => csvReplayCollector({ text: 'a,b\n1,2,3\n' }), CsvReplayError);
    });
  });

  describe('pushFeed', () => {
    it('hands over everything pushed since the last tick, dropping the oldest beyond capacity', async () => {
      const f = pushFeed({ capacity: 2 });
      f.push({ at: 1, values: { a: 1 } });
      f.push({ at: 2, values: { a: 2 } });
      f.push({ at: 3, values: { a: 3 } });
      assert.equal(f.dropped, 1);
      assert.deepEqual(
        (await f.collect({ now: 3, config: AGG })).map((s) => s.at),
        [2, 3],
      );
      assert.equal(f.pending, 0);
    });
  });
});
