import assert from 'node:assert/strict';
import { anomalyEvents, detectionReport, rocAuc } from '../src/index.js';

describe('analytics: detection scoring', () => {
  it('computes point-wise, point-adjusted and event-wise figures and the detection delay', () => {
    // events: rows 2-4 and 8-9; flags hit row 3 (delay 1) and a false alarm at row 6
    const labels = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1];
    const flags = [0, 0, 0, 1, 0, 0, 1, 0, 0, 0];
    const scores = [0, 0, 0, 1, 0, 0, 1, 0, 0, 0];
    assert.deepEqual(anomalyEvents(labels), [
      { start: 2, end: 4 },
      { start: 8, end: 9 },
    ]);
    const r = detectionReport(labels, flags, scores);
    assert.equal(r.precision, 0.5);
    assert.equal(r.recall, 0.2);
    assert.ok(Math.abs(r.f1 - (2 * 0.5 * 0.2) / 0.7) < 1e-12);
    // point adjustment: event 1 fully detected → tp 3, fn 2, fp 1
    assert.equal(r.pointAdjusted.precision, 0.75);
    assert.equal(r.pointAdjusted.recall, 0.6);
    assert.equal(r.eventRecall, 0.5);
    assert.equal(r.compositeF1, 0.5);
    assert.equal(r.meanDetectionDelayRows, 1);
    assert.equal(r.events, 2);
    assert.equal(r.detectedEvents, 1);
  });

  it('ROC-AUC: perfect, inverted, ties and one-class', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
    assert.equal(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]), 0);
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
    assert.equal(rocAuc([0, 1, 1], [0.1, 0.5, 0.1]), 0.75);
    assert.equal(rocAuc([0, 0], [1, 2]), null);
  });
});
