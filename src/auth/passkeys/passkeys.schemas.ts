import { z } from 'zod';
import type { Passkey } from './passkeys.store.js';

const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/);

export const PasskeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

export const PasskeyList = z.object({ items: z.array(PasskeyView) });

export const PasskeyParams = z.strictObject({ id: z.uuid() });

export const PasskeyName = z.string().trim().min(1).max(64);

export const RenameBody = z.strictObject({ name: PasskeyName });

/** `PublicKeyCredentialCreationOptionsJSON` / `...RequestOptionsJSON`, as the browser takes them. */
export const PasskeyOptions = z.looseObject({ challenge: z.string() }).meta({
  description: 'WebAuthn options JSON for `navigator.credentials.create` / `get`',
});

const extensionResults = z.looseObject({}).optional().default({});

/** `RegistrationResponseJSON` (what `@simplewebauthn/browser`'s startRegistration answers). */
export const RegistrationResponse = z.looseObject({
  id: b64url(1024),
  rawId: b64url(1024),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url(8192),
    attestationObject: b64url(65536),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: extensionResults,
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

/** `AuthenticationResponseJSON` (what startAuthentication answers). */
export const AuthenticationResponse = z.looseObject({
  id: b64url(1024),
  rawId: b64url(1024),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url(8192),
    authenticatorData: b64url(8192),
    // ML-DSA-87 signatures (offered on runtimes with post-quantum support, e.g. Node 24) are
    // 4627 bytes, 6170 characters here; ES256 and EdDSA ones are under 100.
    signature: b64url(8192),
    userHandle: b64url(512).optional(),
  }),
  clientExtensionResults: extensionResults,
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

export const RegisterVerifyBody = z.strictObject({
  response: RegistrationResponse,
  name: PasskeyName.optional(),
});

export const LoginVerifyBody = z.strictObject({ response: AuthenticationResponse });

export function toPasskeyView(row: Passkey): z.infer<typeof PasskeyView> {
  return {
    id: row.id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
  };
}
