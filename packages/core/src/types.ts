/** The four loop levels of the hierarchy. */
export const AGENT_LEVELS = ['nf', 'subslice', 'slice', 'domain'] as const;
export type AgentLevel = (typeof AGENT_LEVELS)[number];

/** Every kind of principal that holds a credential. */
export const PRINCIPAL_LEVELS = ['nf', 'subslice', 'slice', 'domain', 'coordinator', 'operator'] as const;
export type PrincipalLevel = (typeof PRINCIPAL_LEVELS)[number];

export const SUBSLICE_KINDS = ['ran', 'cn', 'tn', 'edge'] as const;
export type SubsliceKind = (typeof SUBSLICE_KINDS)[number];

export const NF_KINDS = ['vnf', 'cnf', 'pnf'] as const;
export type NfKind = (typeof NF_KINDS)[number];

/** Where a principal sits in the topology. */
export interface Placement {
  domain: string;
  slice?: string;
  subslice?: string;
  nf?: string;
}

/** Who sent a verified message: taken from its credential, never from the payload. */
export interface Principal extends Placement {
  agentId: string;
  level: PrincipalLevel;
  /** Hex of the Ed25519 public key. */
  publicKey: string;
  /** Id of the credential that vouched for this message. */
  credentialId: string;
}

/** Identifiers used in ids and subject tokens: no dots, spaces or wildcards. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
