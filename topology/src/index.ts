export { type AgentSpec, COORDINATOR_ENTITY, DOMAIN_AGENT_ENTITY, resolveAgents } from './agents.js';
export { isNfType, NF_CATALOGUE, NF_PLANES, NF_TYPES, type NfPlane, type NfType, type NfTypeInfo } from './catalogue.js';
export { formatIssue, type TopologyIssue, TopologyError, TopologyReadError, UnknownExampleError } from './errors.js';
export { EXAMPLE_NAMES, type ExampleName, examplePath } from './examples.js';
export { loadTopology, type ParseOptions, parseTopology } from './parse.js';
export { ISOLATION_LEVELS, type Isolation } from './schema.js';
export type {
  Governed,
  NfSpec,
  Replicas,
  SourceRef,
  Topology,
  TopologyDomain,
  TopologyNf,
  TopologySlice,
  TopologySubslice,
} from './types.js';
export { RESERVED_IDS } from './validate.js';
