import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

// Backend selection runs in child processes: tfjs keeps its engine in a process-wide singleton and
// the other tests share the WASM backend.
function runChild(body: string): { stdout: string; stderr: string } {
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `const a = await import(${JSON.stringify(index)});\n${body}`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { stdout, stderr: '' };
}

describe('analytics: TensorFlow.js backend selection', function () {
  this.timeout(60_000);

  it('auto falls back from tfjs-node (not installed) to WASM, logging the choice once', () => {
    const { stdout } = runChild(`
      const lines = [];
      const logger = { child: () => logger, trace() {}, debug() {}, warn() {}, error() {}, info: (o, m) => lines.push({ o, m }) };
      const r1 = await a.loadTf({ logger });
      const r2 = await a.loadTf({ logger });
      process.stdout.write(JSON.stringify({ b1: r1.backend, b2: r2.backend, fallbacks: r1.fallbacks, logs: lines.length, msg: lines[0]?.m }));
    `);
    const r = JSON.parse(stdout);
    assert.equal(r.b1, 'wasm');
    assert.equal(r.b2, 'wasm');
    assert.equal(r.fallbacks[0].backend, 'tensorflow');
    assert.match(r.fallbacks[0].reason, /tfjs-node/);
    assert.equal(r.logs, 1, 'the choice is logged once');
    assert.match(r.msg, /backend wasm/);
  });

  it('asking for tfjs-node explicitly fails with a clear error', () => {
    const { stdout } = runChild(`
      try { await a.loadTf({ backend: 'tensorflow' }); process.stdout.write('loaded'); }
      catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message, hint: e.details.hint })); }
    `);
    const r = JSON.parse(stdout);
    assert.equal(r.code, 'ANALYTICS_ERR_BACKEND');
    assert.match(r.message, /"tensorflow" cannot be used/);
    assert.match(r.hint, /install @tensorflow\/tfjs-node/);
  });

  it('the CPU backend trains and scores without printing the tfjs-node banner on stdout', () => {
    const { stdout } = runChild(`
      const m = await a.LstmAutoencoder.create({ metrics: ['x', 'y'], window: 4, encoderUnits: [3] }, { backend: 'cpu' });
      const rows = Array.from({ length: 20 }, (_, t) => [Math.sin(t), Math.cos(t)]);
      await m.train(rows, { epochs: 1, validationSplit: 0 });
      const s = await m.scoreRows(rows);
      process.stdout.write(JSON.stringify({ backend: m.backend, windows: s.count }));
    `);
    assert.deepEqual(JSON.parse(stdout), { backend: 'cpu', windows: 17 });
  });
});
