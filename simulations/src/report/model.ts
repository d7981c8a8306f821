import type { AttackWindow } from '../attacks.js';
import type { Figures } from '../evaluate.js';
import type { ActionRow, EventRow, FaultRow, FlRoundRow, MessageRow, SeriesPoint, TrustRow, VerdictRow } from '../recorder.js';

/** A scenario target checked on the run's figures (e.g. "every attack detected"). */
export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

/** report.json: everything the report shows, deterministic for a seed (no wall-clock values). */
export interface SimulationReport {
  scenario: string;
  summary: string;
  seed: number | string;
  short: boolean;
  topology: string;
  /** Which security layer ran the loops ('none' = unprotected baseline). */
  security: string;
  simulatedS: number;
  samplingPeriodS: number;
  windows: (Omit<AttackWindow, 'startMs' | 'endMs' | 'sources'> & { startS: number; endS: number; sources: number })[];
  figures: Figures;
  checks: Check[];
  series: Record<string, SeriesPoint[]>;
  verdicts: VerdictRow[];
  events: EventRow[];
  actions: ActionRow[];
  messages: MessageRow[];
  trust: TrustRow[];
  flRounds: FlRoundRow[];
  faults: FaultRow[];
  notes: string[];
}

/** run.json: how long the run took on this machine (kept out of report.json so seeds reproduce it). */
export interface RunInfo {
  scenario: string;
  seed: number | string;
  wallMs: number;
  simulatedMs: number;
  speedup: number;
  timersFired: number;
  node: string;
}
