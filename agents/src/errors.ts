import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of the agents (docs/agents.md). */
export const AGENT_ERROR_CODES = {
  collector: 'AGENT_ERR_COLLECTOR',
  exposition: 'AGENT_ERR_EXPOSITION',
  csv: 'AGENT_ERR_CSV',
  config: 'AGENT_ERR_CONFIG',
  unknownAgent: 'AGENT_ERR_UNKNOWN_AGENT',
  message: 'AGENT_ERR_MESSAGE',
  coordination: 'AGENT_ERR_COORDINATION',
  lifecycle: 'AGENT_ERR_LIFECYCLE',
} as const;

export class AgentError extends SliceguardError {}

/** A Prometheus exposition text that does not parse: says the line and what was expected. */
export class ExpositionParseError extends AgentError {
  constructor(message: string, details: { line: number; source?: string; text?: string }) {
    super(AGENT_ERROR_CODES.exposition, `${details.source ?? 'exposition'}:${details.line}: ${message}`, { details });
  }
}

/** A scrape or read that failed (HTTP status, timeout, unreachable exporter…). */
export class CollectorError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(AGENT_ERROR_CODES.collector, message, { details, cause });
  }
}

export class CsvReplayError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(AGENT_ERROR_CODES.csv, message, { details, cause });
  }
}

export class AgentConfigError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(AGENT_ERROR_CODES.config, message, { details, cause });
  }
}

export class UnknownAgentError extends AgentError {
  constructor(agentId: string, known: readonly string[], file?: string) {
    super(
      AGENT_ERROR_CODES.unknownAgent,
      `agent "${agentId}" is not in the topology${file ? ` ${file}` : ''}; known agents: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`,
      { details: { agentId, ...(file ? { file } : {}) } },
    );
  }
}

export class MessageFormatError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(AGENT_ERROR_CODES.message, message, { details });
  }
}

export class LifecycleCommandError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(AGENT_ERROR_CODES.lifecycle, message, { details, cause });
  }
}
