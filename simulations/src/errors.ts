import { SliceguardError } from '@sliceguard/core';

/** Base of the simulation errors; codes are stable (docs/simulations.md). */
export class SimulationError extends SliceguardError {}

/** No scenario with that name. Code SIM_ERR_UNKNOWN_SCENARIO. */
export class UnknownScenarioError extends SimulationError {
  constructor(name: string, known: readonly string[]) {
    super('SIM_ERR_UNKNOWN_SCENARIO', `no scenario named "${name}"`, {
      details: { known: known.join(', '), hint: 'run `sliceguard simulate --list` to see them' },
    });
  }
}

/** Bad options or a bad scenario definition. Code SIM_ERR_INVALID_OPTIONS. */
export class InvalidSimulationOptionsError extends SimulationError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('SIM_ERR_INVALID_OPTIONS', message, { details });
  }
}

/** A scenario references an NF that is not in its topology. Code SIM_ERR_UNKNOWN_NF. */
export class UnknownNfError extends SimulationError {
  constructor(nf: string, known: readonly string[]) {
    super('SIM_ERR_UNKNOWN_NF', `no NF "${nf}" in the scenario's topology`, { details: { known: known.join(', ') } });
  }
}

/** The run was aborted or a component failed during the run. Code SIM_ERR_RUN. */
export class SimulationRunError extends SimulationError {
  constructor(message: string, cause?: unknown) {
    super('SIM_ERR_RUN', message, { cause });
  }
}
