/** @bastion/client: a typed client for Bastion's API, in browsers and Node. */
export {
  type BastionClient,
  type BastionClientOptions,
  createBastionClient,
  type LoginCredentials,
  type LoginResponse,
  type LoginResult,
  type MfaRequired,
  type Passkey,
  type PasskeyAssertion,
  type PasskeyAttestation,
  type PasskeyCreationOptions,
  type PasskeyCreator,
  type PasskeyGetter,
  type PasskeyRequestOptions,
  type SessionEvent,
  type SignedIn,
  type TokenResponse,
  type TokenStorage,
  type User,
} from './client.js';
export {
  BastionError,
  type ErrorCodeOf,
  errorOf,
  isBastionError,
  type Problem,
  unwrap,
} from './errors.js';
export type { components, operations, paths } from './schema.js';
