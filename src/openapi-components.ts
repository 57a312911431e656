/**
 * The named schemas of the OpenAPI document (issue 18): each capability's zod schema, under the
 * name a generated client gives its type. The registry only names schemas for the document; it
 * changes no validation or serialization. Built per call (no module-level registry): buildApp
 * passes it to the platform's OpenAPI plugin, which knows no capability.
 */
import { z } from 'zod';
import { AuditEntryView, ChainReportView } from './admin/audit/audit.schemas.js';
import { AdminUserView } from './admin/users/admin-users.schemas.js';
import { LoginResponse, UserSelfView } from './auth/accounts/accounts.schemas.js';
import { Enrolment, RecoveryCodes } from './auth/mfa/mfa.schemas.js';
import { IdentityView } from './auth/oauth/oauth.schemas.js';
import { PasskeyView } from './auth/passkeys/passkeys.schemas.js';
import { SessionView, TokenResponse } from './auth/sessions/sessions.schemas.js';
import { ProductView } from './shop/catalog/catalog.schemas.js';
import { OrderView } from './shop/orders/orders.schemas.js';
import { CommentView, PostView } from './shop/posts/posts.schemas.js';
import { LedgerEntryView, WalletView } from './shop/wallet/wallet.schemas.js';
import { UserPublicView } from './users/users.schemas.js';

export type OpenApiComponents = z.core.$ZodRegistry<{ id: string }>;

export function openApiComponents(): OpenApiComponents {
  const registry = z.registry<{ id: string }>();
  const named: [z.ZodType, string][] = [
    [UserSelfView, 'User'],
    [UserPublicView, 'PublicUser'],
    [AdminUserView, 'AdminUser'],
    [LoginResponse, 'LoginResponse'],
    [TokenResponse, 'TokenResponse'],
    [SessionView, 'Session'],
    [IdentityView, 'Identity'],
    [PasskeyView, 'Passkey'],
    [Enrolment, 'TotpEnrolment'],
    [RecoveryCodes, 'RecoveryCodes'],
    [AuditEntryView, 'AuditEntry'],
    [ChainReportView, 'AuditChainReport'],
    [ProductView, 'Product'],
    [OrderView, 'Order'],
    [WalletView, 'Wallet'],
    [LedgerEntryView, 'LedgerEntry'],
    [PostView, 'Post'],
    [CommentView, 'Comment'],
  ];
  for (const [schema, id] of named) registry.add(schema, { id });
  return registry;
}
