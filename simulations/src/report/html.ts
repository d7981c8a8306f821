import type { SimulationReport } from './model.js';
import { type Band, esc, type FlowArrow, fmtNum, lineChart, type Marker, messageFlow, PALETTE } from './svg.js';

const ATTACK_COLOR = '#d62728';
const BENIGN_COLOR = '#2ca02c';

function bands(r: SimulationReport): Band[] {
  return r.windows.map((w) => ({ start: w.startS, end: w.endS, color: w.cls === 'attack' ? ATTACK_COLOR : BENIGN_COLOR, label: `${w.kind} (${w.id})` }));
}

function table(head: string[], rows: (string | number | undefined)[][]): string {
  const cell = (v: string | number | undefined) => `<td>${v === undefined ? '–' : esc(typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

function nfSection(r: SimulationReport, nf: string, xRange: [number, number]): string {
  const pts = r.series[nf] ?? [];
  const b = bands(r);
  const out: string[] = [`<h3>NF ${esc(nf)}</h3>`];
  const verdicts = r.verdicts.filter((v) => v.nf === nf);
  const actionRules: Marker[] = r.actions
    .filter((a) => a.status === 'succeeded' && (a.target === nf || a.target === '*'))
    .map((a) => ({ x: a.t, color: '#555', shape: 'rule' as const, label: `${a.type}${a.source ? ` ${a.source}` : ''} by ${a.requestedBy}` }));
  if (verdicts.length > 0) {
    // A run may switch detectors (statistical while the LSTM trains, then the LSTM), whose scores have
    // different units; score ÷ threshold is comparable across them (above 1 = anomalous).
    const ratio = (v: { score: number; threshold: number }): number => (v.threshold > 0 ? v.score / v.threshold : v.score);
    const ratios = verdicts.map(ratio).sort((a, b) => a - b);
    const p99 = ratios[Math.floor(0.99 * (ratios.length - 1))];
    const yMax = Math.max(4, p99);
    out.push(
      lineChart({
        title: `${nf}: anomaly score ÷ threshold (above 1 = anomalous; red dots: detections; grey rules: mitigations; clipped at ${fmtNum(yMax)})`,
        yMax,
        series: [{ name: 'score / threshold', points: verdicts.map((v) => [v.t, ratio(v)]), color: '#1f77b4' }],
        hLines: [{ y: 1, color: '#d62728', label: 'threshold' }],
        markers: [...verdicts.filter((v) => v.anomalous).map((v) => ({ x: v.t, y: ratio(v), color: ATTACK_COLOR, label: `anomalous at ${v.t}s (${v.top ?? ''})` })), ...actionRules],
        bands: b,
        xRange,
        xLabel: 'time (s)',
        height: 200,
      }),
    );
  }
  const baseline = r.figures.windows.find((w) => w.targets.includes(nf))?.legitP95BaselineMs;
  out.push(
    lineChart({
      title: `${nf}: legitimate users' response time (ms, ground truth)`,
      series: [{ name: 'legit latency', points: pts.map((p) => [p.t, p.legitLatencyMs]), color: '#ff7f0e' }],
      hLines: baseline !== undefined ? [{ y: baseline * 1.2, color: '#2ca02c', label: 'baseline p95 + 20 %' }] : [],
      markers: actionRules,
      bands: b,
      xRange,
      height: 150,
    }),
  );
  const metrics = pts.length ? Object.keys(pts[0].metrics) : [];
  for (const [i, m] of metrics.entries()) {
    out.push(
      lineChart({
        title: `${nf}: ${m}`,
        series: [{ name: m, points: pts.map((p) => [p.t, p.metrics[m] ?? 0]), color: PALETTE[i % PALETTE.length] }],
        bands: b,
        xRange,
        height: 110,
      }),
    );
  }
  return out.join('\n');
}

/** The offline HTML report: summary tables, per-NF plots, message flow, trust and FL charts. */
export function renderHtml(r: SimulationReport): string {
  const xRange: [number, number] = [0, r.simulatedS];
  const f = r.figures;
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sliceguard ${esc(r.scenario)} (seed ${esc(String(r.seed))})</title>
<style>body{font-family:sans-serif;margin:16px;color:#222;max-width:940px}table{border-collapse:collapse;margin:8px 0;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}.pass{color:#2ca02c;font-weight:bold}.fail{color:#d62728;font-weight:bold}svg{display:block;margin:4px 0}h2{border-bottom:1px solid #ddd;padding-bottom:2px}</style></head><body>`);
  parts.push(`<h1>sliceguard simulation: ${esc(r.scenario)}</h1><p>${esc(r.summary)}</p>`);
  parts.push(
    table(
      ['seed', 'mode', 'topology', 'security layer', 'simulated', 'sampling period'],
      [[String(r.seed), r.short ? 'short' : 'full', r.topology, r.security, `${r.simulatedS} s`, `${r.samplingPeriodS} s`]],
    ),
  );
  parts.push('<h2>Targets</h2>');
  parts.push(
    `<table><thead><tr><th>target</th><th>result</th><th>detail</th></tr></thead><tbody>${r.checks
      .map((c) => `<tr><td>${esc(c.name)}</td><td class="${c.pass ? 'pass' : 'fail'}">${c.pass ? 'pass' : 'FAIL'}</td><td>${esc(c.detail)}</td></tr>`)
      .join('')}</tbody></table>`,
  );
  parts.push('<h2>Attacks and surges</h2>');
  parts.push(
    table(
      ['window', 'kind', 'start s', 'end s', 'detected', 'TTD s', 'TTD periods', 'TTM s', 'recovery s', 'legit p95 base ms', 'during ms', 'after ms', 'mitigations', 'benign mitig.'],
      f.windows.map((w) => [
        w.id,
        w.kind,
        w.startS,
        w.endS,
        w.detected ? `yes (${w.detectedAt})` : 'no',
        w.timeToDetectS,
        w.timeToDetectPeriods,
        w.timeToMitigateS,
        w.recoveryAfterDetectionS,
        w.legitP95BaselineMs,
        w.legitP95DuringMs,
        w.legitP95AfterMs,
        w.mitigationActions,
        w.benignMitigations,
      ]),
    ),
  );
  const d = f.detection;
  parts.push('<h2>Detection quality</h2>');
  parts.push(
    table(
      ['scope', 'samples', 'precision', 'recall', 'TP', 'FP', 'FN', 'alarm episodes', 'true episodes'],
      [
        ['all NFs', d.samples, d.precision, d.recall, d.truePositives, d.falsePositives, d.falseNegatives, d.episodes, d.trueEpisodes],
        ...Object.entries(f.perNf).map(([nf, q]) => [nf, q.samples, q.precision, q.recall, q.truePositives, q.falsePositives, q.falseNegatives, q.episodes, q.trueEpisodes]),
      ],
    ),
  );
  parts.push(
    `<p>Attacks detected: ${d.attacksDetected}/${d.attacks}. Mitigations outside attack windows: ${f.mitigationsOutsideAttacks}. Blocks / rate limits on benign sources: ${f.benignMitigations}; legitimate traffic filtered: ${(f.legitFilteredShare * 100).toFixed(3)} %.</p>`,
  );
  parts.push('<h2>Actions and messages</h2>');
  parts.push(table(['action', 'count'], Object.entries(f.actions).map(([k, v]) => [k, v])));
  parts.push(
    table(
      ['messages', 'count'],
      [
        ['sent', f.messages.sent],
        ['delivered', f.messages.delivered],
        ...Object.entries(f.messages.byKind).map(([k, v]) => [`${k} (observed)`, v]),
        ...Object.entries(f.messages.rejected).map(([k, v]) => [`rejected: ${k}`, v]),
      ],
    ),
  );
  if (f.sslaViolations.length > 0) {
    parts.push('<h2>SSLA violations</h2>');
    parts.push(table(['window', 'metric', 'target s', 'observed s'], f.sslaViolations.map((v) => [v.window, v.metric, v.targetS, v.observedS])));
  }
  parts.push('<h2>Network functions</h2>');
  parts.push('<p>Red bands: attacks; green bands: benign surges. Metrics are per sampling period; the response time is what legitimate users experienced (ground truth, not visible to the loops).</p>');
  for (const nf of Object.keys(r.series)) parts.push(nfSection(r, nf, xRange));
  if (r.messages.length > 0) {
    parts.push('<h2>Message flow</h2>');
    const lanes = [...new Set(r.messages.flatMap((m) => [m.from, ...(m.to ? [m.to] : [])]))].sort();
    const arrows: FlowArrow[] = r.messages.map((m) => ({ t: m.t, from: m.from, to: m.to, kind: m.kind }));
    parts.push(messageFlow('escalations, delegations, outcomes and peer messages', lanes, arrows, xRange, bands(r)));
  }
  if (r.trust.length > 0) {
    parts.push('<h2>Trust</h2>');
    const agents = [...new Set(r.trust.map((t) => t.agentId))].sort();
    parts.push(
      lineChart({
        title: 'trust score per agent',
        series: agents.map((a) => ({ name: a, points: r.trust.filter((t) => t.agentId === a).map((t) => [t.t, t.score] as [number, number]) })),
        bands: bands(r),
        xRange,
        yMin: 0,
        height: 220,
      }),
    );
  }
  if (r.flRounds.length > 0) {
    parts.push('<h2>Federated learning</h2>');
    const domains = [...new Set(r.flRounds.map((x) => x.domain))];
    parts.push(
      lineChart({
        title: 'global model loss per round (validation)',
        series: domains.map((dm) => ({ name: dm, points: r.flRounds.filter((x) => x.domain === dm && x.loss !== undefined).map((x) => [x.round, x.loss!] as [number, number]) })),
        xLabel: 'round',
        height: 200,
      }),
    );
    parts.push(table(['round', 'domain', 'time s', 'loss', 'accepted', 'rejected', 'note'], r.flRounds.map((x) => [x.round, x.domain, x.t, x.loss, x.accepted, x.rejected, x.note])));
  }
  if (r.faults.length > 0) {
    parts.push('<h2>Injected faults</h2>');
    parts.push(table(['time s', 'fault', 'target', 'detail'], r.faults.map((x) => [x.t, x.kind, x.target, x.detail])));
  }
  if (r.actions.length > 0) {
    parts.push('<h2>Action log</h2>');
    parts.push(table(['time s', 'type', 'target', 'source', 'status', 'by', 'policy', 'detail'], r.actions.slice(0, 500).map((a) => [a.t, a.type, a.target, a.source, a.status, a.requestedBy, a.policyId, a.detail])));
  }
  if (r.notes.length > 0) parts.push(`<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  parts.push('</body></html>');
  return parts.join('\n');
}
