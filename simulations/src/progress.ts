import { SingleBar } from 'cli-progress';

export interface ProgressReporter {
  update(doneMs: number, totalMs: number, phase: string): void;
  stop(): void;
}

/**
 * A progress bar on a terminal (cli-progress), plain lines every 10 % otherwise (logs, CI).
 * Writes to the given stream only; never to the console.
 */
export function createProgressReporter(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string): ProgressReporter {
  if (stream.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% | {phase} | simulated {sim}`,
      stream: stream as NodeJS.WriteStream,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    });
    let started = false;
    return {
      update(done, total, phase) {
        const payload = { phase, sim: `${Math.round(done / 1000)} / ${Math.round(total / 1000)} s` };
        if (!started) {
          bar.start(total, done, payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, payload);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastDecile = -1;
  let lastPhase = '';
  return {
    update(done, total, phase) {
      const decile = Math.floor((10 * done) / Math.max(1, total));
      if (decile === lastDecile && phase === lastPhase) return;
      lastDecile = decile;
      lastPhase = phase;
      stream.write(`${label}: ${Math.min(100, decile * 10)}% (${phase}, simulated ${Math.round(done / 1000)} / ${Math.round(total / 1000)} s)\n`);
    },
    stop() {},
  };
}
