import { agentsSecurityLayer } from './agents-layer.js';
import { noSecurityLayer } from './layer.js';
import { runScenario } from './runner.js';

/**
 * The simulations benchmark: how fast the engine runs (simulated / wall time, with and without the
 * loops) and the vcdn-ddos targets. Quick: short modes with the statistical detector (seconds).
 * Full: the full vcdn-ddos with the LSTM autoencoder (what `npm start` runs) plus a determinism check
 * (two short runs with the same seed must give the same report).
 */
export async function run(options: { quick: boolean; log(line: string): void }): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const baseline = await runScenario('vcdn-ddos', { seed: 1, short: true, security: noSecurityLayer() });
  out.engineOnly = { simulatedS: baseline.run.simulatedMs / 1000, wallMs: baseline.run.wallMs, speedup: baseline.run.speedup };
  options.log(`engine only: ${baseline.run.simulatedMs / 1000} s simulated in ${baseline.run.wallMs} ms (×${baseline.run.speedup})`);

  const detector = options.quick ? 'statistical' : 'lstm';
  const a = await runScenario('vcdn-ddos', { seed: 1, short: options.quick, security: agentsSecurityLayer({ detector }) });
  options.log(`vcdn-ddos (${options.quick ? 'short' : 'full'}, ${detector}): ${a.run.wallMs} ms wall`);
  // full mode: check that a seed reproduces report.json (two short runs with the loops)
  const twice = options.quick
    ? undefined
    : await Promise.all([1, 2].map(() => runScenario('vcdn-ddos', { seed: 7, short: true, security: agentsSecurityLayer({ detector: 'statistical' }) })));
  out.vcdnDdos = {
    mode: options.quick ? 'short' : 'full',
    detector,
    wallMs: a.run.wallMs,
    simulatedS: a.run.simulatedMs / 1000,
    speedup: a.run.speedup,
    checks: Object.fromEntries(a.report.checks.map((c) => [c.name, c.pass])),
    attacks: a.report.figures.windows.map((w) => ({
      id: w.id,
      detected: w.detected,
      timeToDetectPeriods: w.timeToDetectPeriods,
      timeToMitigateS: w.timeToMitigateS,
      recoveryAfterDetectionS: w.recoveryAfterDetectionS,
      legitP95BaselineMs: w.legitP95BaselineMs,
      legitP95DuringMs: w.legitP95DuringMs,
    })),
    mitigationsOutsideAttacks: a.report.figures.mitigationsOutsideAttacks,
    precision: a.report.figures.detection.precision,
    recall: a.report.figures.detection.recall,
    messagesSent: a.report.figures.messages.sent,
    ...(twice ? { sameReportForSameSeed: JSON.stringify(twice[0].report) === JSON.stringify(twice[1].report) } : {}),
  };
  out.loopsOverheadRatio = Math.round((a.run.wallMs / Math.max(1, a.run.simulatedMs)) / (baseline.run.wallMs / Math.max(1, baseline.run.simulatedMs)) * 10) / 10;
  return out;
}
