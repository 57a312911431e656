/**
 * `@simplewebauthn/server`, imported on the first passkey ceremony (issue 17): with its ASN.1 and
 * COSE dependencies it is ~25 MB of RSS that an instance whose users never use passkeys does not
 * need at start.
 */
let loaded: Promise<typeof import('@simplewebauthn/server')> | undefined;

export function webauthn(): Promise<typeof import('@simplewebauthn/server')> {
  loaded ??= import('@simplewebauthn/server');
  return loaded;
}
