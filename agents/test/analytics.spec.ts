import assert from 'node:assert/strict';
import type { AnomalyEvent, IncidentEvent, SecurityEvent, StreamingDetector, TrustView } from '@sliceguard/core';
import { idGenerator, seededRng } from '@sliceguard/core';
import { createStatisticalDetector } from '@sliceguard/analytics';
import { classifyContributors, correlator, detectorAnalytics } from '../src/index.js';

const ctx = (now: number) => ({ loopId: 'l', now });

describe('agents: analytics engines', () => {
  describe('detectorAnalytics (NF AE)', () => {
    const make = () => {
      const detector: StreamingDetector = createStatisticalDetector({ metrics: ['http_requests_per_s', 'cpu'], warmup: 10, window: 50 });
      return detectorAnalytics({ agentId: 'd:web', target: 'web', detector, ids: idGenerator(seededRng(1)), reemitMs: 10_000, clearAfter: 2 });
    };
    const rng = seededRng(3);
    const normal = (at: number) => ({ at, values: { http_requests_per_s: rng.normal(100, 5), cpu: rng.normal(0.3, 0.02) } });

    it('turns anomalous verdicts into one episode: onset, re-announcements, recovery', async () => {
      const ae = make();
      let t = 0;
      for (let i = 0; i < 30; i++, t += 1000) assert.deepEqual(await ae.analyzeSample!(normal(t), ctx(t)), []);
      const first = (await ae.analyzeSample!({ at: t, values: { http_requests_per_s: 900, cpu: 0.3 } }, ctx(t))) as (AnomalyEvent & { kind: string })[];
      assert.equal(first.length, 1);
      assert.equal(first[0].kind, 'volumetric');
      assert.equal(first[0].evidence.contributors[0].metric, 'http_requests_per_s');
      assert.ok(first[0].severity > 0.2 && first[0].severity <= 1);
      t += 1000;
      assert.deepEqual(await ae.analyzeSample!({ at: t, values: { http_requests_per_s: 900, cpu: 0.3 } }, ctx(t)), [], 'same episode, not re-announced yet');
      t += 10_000;
      const again = await ae.analyzeSample!({ at: t, values: { http_requests_per_s: 900, cpu: 0.3 } }, ctx(t));
      assert.equal(again.length, 1);
      assert.equal(again[0].correlationId, first[0].correlationId, 'one correlation id per episode');
      for (let i = 0; i < 3; i++) {
        t += 1000;
        await ae.analyzeSample!(normal(t), ctx(t));
      }
      t += 1000;
      const next = await ae.analyzeSample!({ at: t, values: { http_requests_per_s: 900, cpu: 0.3 } }, ctx(t));
      assert.notEqual(next[0]?.correlationId, first[0].correlationId, 'a new episode after recovery');
    });

    it('names heavy-hitter sources from per-flow statistics, and peers’ sources on the watch list', async () => {
      const ae = make();
      let t = 0;
      for (let i = 0; i < 30; i++, t += 1000) await ae.analyzeSample!(normal(t), ctx(t));
      await ae.analyzeReport!(
        { type: 'management', id: 'p', at: t, source: 'd:peer', target: 'web', severity: 0.3, kind: 'peer_indicator', details: { indicators: [{ kind: 'source', value: '192.0.2.77' }] } },
        ctx(t),
      );
      const flows = [
        ...Array.from({ length: 40 }, (_, i) => ({ key: `10.0.0.${i}`, values: { http_requests_per_s: 5 + (i % 3) } })),
        { key: '198.51.100.9', values: { http_requests_per_s: 600 } },
        { key: '192.0.2.77', values: { http_requests_per_s: 4 } },
      ];
      const [ev] = (await ae.analyzeSample!({ at: t, values: { http_requests_per_s: 900, cpu: 0.3 }, flows }, ctx(t))) as AnomalyEvent[];
      assert.deepEqual(
        ev.evidence.indicators,
        [
          { kind: 'source', value: '198.51.100.9' },
          { kind: 'source', value: '192.0.2.77' },
        ],
      );
    });
  });

  describe('correlator (sub-slice / slice AE)', () => {
    const anomaly = (child: string, at: number, extra: Partial<AnomalyEvent> & { kind?: string } = {}): SecurityEvent =>
      ({
        type: 'anomaly',
        id: `a-${child}-${at}`,
        at,
        source: child,
        target: child,
        severity: 0.3,
        level: 'nf',
        correlationId: `c-${child}`,
        kind: 'signaling_surge',
        evidence: { detector: 'x', score: 6, threshold: 5, contributors: [{ metric: 'rrc_setup_rate', share: 1 }], window: { start: at - 1000, end: at } },
        ...extra,
      }) as SecurityEvent;

    it('raises an incident per kind, re-announced as more children join, with shared indicators first', async () => {
      const ae = correlator({ agentId: 'd:ran', level: 'subslice', target: 'ran', children: ['g1', 'g2', 'g3'], ids: idGenerator(seededRng(2)), k: 2 });
      assert.deepEqual(await ae.analyzeReport!(anomaly('g1', 1000), ctx(1000)), [], 'one child is below k = 2');
      const src = { indicators: [{ kind: 'source', value: '203.0.113.5' }] };
      const [inc] = (await ae.analyzeReport!(
        anomaly('g2', 2000, { evidence: { detector: 'x', score: 6, threshold: 5, contributors: [{ metric: 'attach_rate', share: 1 }], window: { start: 500, end: 2000 }, ...src } }),
        ctx(2000),
      )) as (IncidentEvent & { reporters: string[] })[];
      assert.equal(inc.kind, 'signaling_surge');
      assert.deepEqual(inc.reporters.sort(), ['g1', 'g2']);
      assert.equal(inc.children.length, 2);
      assert.equal(inc.evidence.window.start, 0, 'earliest evidence of the children');
      assert.ok(inc.severity > 0.3);
      const [grown] = (await ae.analyzeReport!(
        anomaly('g3', 3000, { evidence: { detector: 'x', score: 6, threshold: 5, contributors: [], window: { start: 2500, end: 3000 }, ...src } }),
        ctx(3000),
      )) as IncidentEvent[];
      assert.equal(grown.correlationId, inc.correlationId, 'the same open incident');
      assert.equal(grown.children.length, 3);
      assert.deepEqual(grown.evidence.indicators?.[0], { kind: 'source', value: '203.0.113.5' });
      assert.deepEqual(await ae.analyzeReport!(anomaly('g3', 3500), ctx(3500)), [], 'no news, no re-announcement');
    });

    it('forgets reports older than the window and keeps a single child’s correlation id', async () => {
      const ae = correlator({ agentId: 'd:slice', level: 'slice', target: 's', children: ['ran'], ids: idGenerator(seededRng(2)), windowMs: 10_000 });
      const [a] = await ae.analyzeReport!(anomaly('ran', 0), ctx(0));
      assert.equal(a.correlationId, 'c-ran', 'a lone child’s correlation id travels up');
      await ae.tick!(ctx(20_000));
      const [b] = await ae.analyzeReport!(anomaly('ran', 20_000, { correlationId: 'c-ran-2' }), ctx(20_000));
      assert.equal(b.correlationId, 'c-ran-2');
    });

    it('ignores reports from non-children and quarantined children', async () => {
      const trust: TrustView = { score: () => 0.5, weight: (a) => (a === 'g2' ? 0 : 1), isQuarantined: (a) => a === 'g3' };
      const ae = correlator({ agentId: 'd:ran', level: 'subslice', target: 'ran', children: ['g1', 'g2', 'g3'], ids: idGenerator(seededRng(2)), trust, k: 2 });
      assert.deepEqual(await ae.analyzeReport!(anomaly('intruder', 1), ctx(1)), []);
      assert.deepEqual(await ae.analyzeReport!(anomaly('g2', 2), ctx(2)), []);
      assert.deepEqual(await ae.analyzeReport!(anomaly('g3', 3), ctx(3)), []);
      assert.deepEqual(await ae.analyzeReport!(anomaly('g1', 4), ctx(4)), []);
      assert.deepEqual(ae.stats(), { reports: 1, ignored: 3, incidents: 0 });
    });
  });

  it('classifies anomalies from their contributing metrics', () => {
    assert.equal(classifyContributors([{ metric: 'rrc_setup_rate', share: 0.6 }, { metric: 'cpu_usage', share: 0.4 }]), 'signaling_surge');
    assert.equal(classifyContributors([{ metric: 'open_connections', share: 0.7 }]), 'connection_exhaustion');
    assert.equal(classifyContributors([{ metric: 'http_requests_per_s', share: 0.9 }]), 'volumetric');
    assert.equal(classifyContributors([]), 'anomaly');
  });
});
