#!/usr/bin/env node
// Prints the markdown table of the JSON results written by evaluate-server-metrics.sh.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? process.env.OUT ?? '/tmp/sg-eval';
const sets = ['machine-1-6', 'machine-2-1', 'omi-1', 'omi-2', 'omi-3'];
const f = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
const rows = [];
rows.push('| set | detector | threshold | P | R | F1 | PA-F1 | event recall | composite F1 | delay (rows) | ROC-AUC | train s | infer ms/window |');
rows.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const files = new Set(readdirSync(dir));
for (const set of sets) {
  for (const det of ['lstm-ae', 'statistical']) {
    const file = `${set}-${det}.json`;
    if (!files.has(file)) continue;
    let r;
    try {
      r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch {
      continue;
    }
    const all = [{ threshold: r.threshold, report: r.report }, ...(r.alternatives ?? [])];
    for (const { threshold, report: p } of all) {
      rows.push(
        `| ${set} | ${det}${r.backend ? ` (${r.backend}${r.config?.scoreBaseline ? `, relative ${r.config.scoreBaseline.window}` : ''})` : ''} | ${threshold.method} ${threshold.initial.toPrecision(4)} | ${f(p.precision)} | ${f(p.recall)} | ${f(p.f1)} | ${f(p.pointAdjusted.f1)} | ${f(p.eventRecall)} (${p.detectedEvents}/${p.events}) | ${f(p.compositeF1)} | ${p.meanDetectionDelayRows === null ? 'n/a' : p.meanDetectionDelayRows.toFixed(1)} | ${f(p.rocAuc)} | ${r.trainingSeconds.toFixed(0)} | ${r.inferenceMsPerWindow.toFixed(2)} |`,
      );
    }
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
