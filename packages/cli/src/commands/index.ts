import type { RegisterCommand } from '../context.js';
import { register as agent } from './agent.js';
import { register as api } from './api.js';
import { register as audit } from './audit.js';
import { register as bench } from './bench.js';
import { register as coordinator } from './coordinator.js';
import { register as credential } from './credential.js';
import { register as evaluate } from './eval.js';
import { register as keys } from './keys.js';
import { register as policy } from './policy.js';
import { register as simulate } from './simulate.js';
import { register as topology } from './topology.js';
import { register as trust } from './trust.js';
import { register as up } from './up.js';

/** Every subcommand module, one per area; each module owns its own file. */
export const commands: RegisterCommand[] = [
  keys,
  credential,
  topology,
  agent,
  up,
  simulate,
  evaluate,
  policy,
  trust,
  audit,
  coordinator,
  api,
  bench,
];
