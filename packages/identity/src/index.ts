export { type AgentIdentity, type Credential, type CredentialClaims, CREDENTIAL_TAG, credentialIdOf, credentialSigningBytes, issueCredential, isValidSubjectPattern, parseCredential, principalOf, publicKeyBytes, validateClaims } from './credential.js';
export { canonicalJson } from './canonical.js';
export {
  type KeyPair,
  type SignFn,
  type VerifyFn,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  createSigner,
  createVerifier,
  generateKeyPair,
  nobleGetPublicKey,
  nobleSign,
  nobleVerify,
  privateKeyObject,
  publicKeyObject,
  publicKeyOf,
  sign,
  verify,
} from './ed25519.js';
export { type DomainAuthority, type IssueClaims, type IssueOptions, DEFAULT_BACKDATE_MS, DEFAULT_VALIDITY_MS, createDomainAuthority, defaultScopes } from './authority.js';
export { CredentialRejectedError, IDENTITY_ERROR_CODES, IdentityError, type IdentityErrorCode, InvalidCredentialError, InvalidKeyError, InvalidRevocationListError, KeyFileError } from './errors.js';
export { KEY_FILE_TYPE, type KeyFileOptions, encodeKeyFile, parseKeyFile, readCredentialFile, readKeyFile, readRevocationFile, writeCredentialFile, writeKeyFile, writeRevocationFile } from './files.js';
export { REVOCATION_TAG, type RevocationList, parseRevocationList, revocationSignatureValid, revocationSigningBytes, signRevocationList } from './revocation.js';
export { patternWithin, subjectInScopes } from './scope.js';
export { type CredentialCheck, type CredentialRejectReason, type RevocationOutcome, type TrustedRoot, TrustStore, type TrustStoreChange, type TrustStoreOptions } from './trust-store.js';
