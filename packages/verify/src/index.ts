/** @bastion/verify: verify Bastion access tokens in another Node service. */
export { type Problem, problemFor, VerifyError, type VerifyErrorCode } from './errors.js';
export { ownedOr404, requireRole } from './helpers.js';
export {
  ACCESS_TOKEN_TYPE,
  createVerifier,
  type Principal,
  type RevocationOptions,
  type Verifier,
  type VerifierOptions,
} from './verifier.js';
