/**
 * Prints the markdown tables of docs/federation.md from evaluation JSON reports (evaluate-main.js --out):
 *
 *   node federation/dist/src/evaluate-tables.js federation/results/eval-*.json
 */
import { readFileSync } from 'node:fs';
import type { FederationEvaluationReport, GroupReport } from './evaluate.js';
import { poisoningTable } from './evaluate.js';

type Saved = FederationEvaluationReport & { run?: { command: string; finishedAt: string; wallSeconds: number; cpuSeconds: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] } };

const pm = (m: number, s?: number): string => (s === undefined ? m.toFixed(3) : `${m.toFixed(3)} ± ${s.toFixed(3)}`);

export function comparisonRow(model: string, g: GroupReport): string {
  const c = g.comparison;
  const m = c.centralMatched;
  const epochs = [...new Set(c.runs.map((r) => r.centralMatched?.epochs ?? '–'))].join('/');
  const loss = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toPrecision(2);
  return (
    `| ${g.group} | ${model} | ${c.runs.length} | ${c.rounds} × ${c.localEpochs} vs ${c.centralEpochs} | ` +
    `${pm(c.federated.meanF1, c.federated.sdF1)} | ${pm(c.central.meanF1, c.central.sdF1)} | ${c.gap.toFixed(3)}${c.runs.length > 1 ? ` (sd ${c.gapSd.toFixed(3)})` : ''} | ` +
    `${m ? `${pm(m.meanF1, m.sdF1)} @ ${epochs} ep | ${(c.matchedGap ?? Number.NaN).toFixed(3)}${c.runs.length > 1 ? ` (sd ${(c.matchedGapSd ?? 0).toFixed(3)})` : ''}` : '– | –'} | ` +
    `${loss(c.runs.map((r) => r.federatedLoss))} / ${loss(c.runs.map((r) => r.centralLoss))} | ` +
    `${pm(c.federated.meanF1PointAdjusted, c.federated.sdF1PointAdjusted)} / ${pm(c.central.meanF1PointAdjusted, c.central.sdF1PointAdjusted)} |`
  );
}

const files = process.argv.slice(2);
for (const file of files) {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Saved;
  process.stdout.write(`\n### ${file}\n`);
  if (r.run) {
    process.stdout.write(
      `\`${r.run.command}\` — finished ${r.run.finishedAt}, wall ${r.run.wallSeconds} s, CPU ${r.run.cpuSeconds} s, load average ${r.run.loadAverageAtStart.join(' ')} → ${r.run.loadAverageAtEnd.join(' ')}\n\n`,
    );
  }
  process.stdout.write('| group | model | seeds | rounds × local epochs vs central epochs | federated F1 | central F1 (same passes) | gap | loss-matched central F1 | gap | training loss fed / central | PA F1 fed / central |\n');
  process.stdout.write('|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const g of r.groups) process.stdout.write(`${comparisonRow(r.model.kind, g)}\n`);
  for (const g of r.groups) {
    if (g.poisoning.length === 0) continue;
    process.stdout.write(`\n**${g.group}, ${r.model.kind}: point-wise F1**\n${poisoningTable(g)}\n\n**point-adjusted F1**\n${poisoningTable(g, 'meanF1PointAdjusted')}\n`);
  }
  process.stdout.write('\n');
  for (const c of r.checks) process.stdout.write(`- ${c.pass ? 'PASS' : 'FAIL'} ${c.group}: ${c.check} — ${c.detail}\n`);
}
