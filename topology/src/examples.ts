import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnknownExampleError } from './errors.js';

/** The example topologies shipped in topology/examples/. */
export const EXAMPLE_NAMES = ['vcdn-edge', 'embb-5g', 'multi-domain'] as const;
export type ExampleName = (typeof EXAMPLE_NAMES)[number];

/** Absolute path of a bundled example (`vcdn-edge` or `vcdn-edge.yaml`). */
export function examplePath(name: string): string {
  const base = name.endsWith('.yaml') ? name.slice(0, -5) : name;
  if (!(EXAMPLE_NAMES as readonly string[]).includes(base)) throw new UnknownExampleError(name, EXAMPLE_NAMES);
  // compiled to topology/dist/src/examples.js; examples live in topology/examples
  const path = fileURLToPath(new URL(`../../examples/${base}.yaml`, import.meta.url));
  if (!existsSync(path)) throw new UnknownExampleError(name, EXAMPLE_NAMES);
  return path;
}
