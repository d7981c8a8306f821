import { SliceguardError } from '@sliceguard/core';

/** Stable error codes of @sliceguard/bus (docs/bus.md). */
export const BUS_ERROR_CODES = [
  'BUS_ERR_CLOSED',
  'BUS_ERR_INVALID_SUBJECT',
  'BUS_ERR_OUT_OF_SCOPE',
  'BUS_ERR_TIMEOUT',
  'BUS_ERR_NO_RESPONDERS',
  'BUS_ERR_ABORTED',
  'BUS_ERR_DECODE',
  'BUS_ERR_CONNECT',
  'BUS_ERR_PAYLOAD_TOO_LARGE',
  'BUS_ERR_INVALID_OPTIONS',
  'BUS_ERR_BUFFER_FULL',
  'BUS_ERR_DISCONNECTED',
] as const;
export type BusErrorCode = (typeof BUS_ERROR_CODES)[number];

export class BusError extends SliceguardError {
  constructor(code: BusErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}
