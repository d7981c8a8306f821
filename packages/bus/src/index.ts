export { BUS_ERROR_CODES, BusError, type BusErrorCode } from './errors.js';
export {
  type Envelope,
  type EnvelopeHeaders,
  HEADER_NAMES,
  PROTOCOL,
  SIGNING_TAG,
  decodeCredentialHeader,
  encodeCredentialHeader,
  signingInput,
} from './envelope.js';
export { type LocalBusOptions, LocalBus, LocalNetwork, type LocalNetworkOptions, type LocalNetworkStats, createLocalNetwork, localBus } from './local.js';
export {
  DEFAULT_CHUNK_TIMEOUT_MS,
  DEFAULT_INBOX_PREFIX,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SKEW_MS,
  DEFAULT_REPLAY_WINDOW,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type SignedBusOptions,
} from './options.js';
export { REVOCATIONS_TOPIC, type RevocationSubscription, publishRevocations, subscribeRevocations } from './revocations.js';
export { ReplayWindow } from './replay.js';
export { SignedBus, subjectClass } from './signed-bus.js';
export { SubjectIndex } from './subject-index.js';
export { EnvelopeVerifier, type VerifyOutcome, createVerifierCaches } from './verifier.js';
export { NatsBus, type NatsBusOptions, connectNatsBus, fromNatsMsg, toNatsHeaders } from './nats.js';
