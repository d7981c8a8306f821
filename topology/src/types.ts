import type { NfKind, SslaSpec, SubsliceKind, TlaSpec } from '@sliceguard/core';
import type { NfType } from './catalogue.js';
import type { Isolation } from './schema.js';

/** Where an entity was declared, for errors raised later (policies, agents). */
export interface SourceRef {
  file?: string;
  line: number;
  column: number;
}

export interface Replicas {
  min: number;
  max: number;
  initial: number;
}

/** A network function as agents see it (the cross-package contract). */
export interface NfSpec {
  id: string;
  type: NfType;
  kind: NfKind;
  metrics: string[];
  replicas: Replicas;
  location?: string;
  chain?: string[];
  exporter?: { url: string };
}

/** Effective (inherited) security specs of an entity. Policies are absolute paths. */
export interface Governed {
  tla: TlaSpec;
  ssla: SslaSpec;
  policies: string[];
}

export interface TopologyNf extends NfSpec, Governed {
  source: SourceRef;
}

export interface TopologySubslice extends Governed {
  id: string;
  kind: SubsliceKind;
  isolation: Isolation;
  /** Id of the slice whose file entry defines this sub-slice. */
  definedIn: string;
  /** Ids of the other slices that share it through `ref:` (empty for a dedicated sub-slice). */
  sharedWith: string[];
  nfs: TopologyNf[];
  source: SourceRef;
}

export interface TopologySlice extends Governed {
  id: string;
  service?: string;
  isolation: Isolation;
  /** Other domains holding their part of this E2E slice under the same slice id. */
  spans: string[];
  /** Sub-slices in file order; a shared sub-slice referenced here is the defining slice's object. */
  subslices: TopologySubslice[];
  source: SourceRef;
}

export interface TopologyDomain extends Governed {
  id: string;
  name?: string;
  location?: string;
  trustedDomains: string[];
  slices: TopologySlice[];
  source: SourceRef;
}

export interface Topology {
  version: 1;
  /** Absolute path of the file, when loaded from one. */
  file?: string;
  /** Directory that relative policy paths were resolved against. */
  baseDir: string;
  domains: TopologyDomain[];
}
