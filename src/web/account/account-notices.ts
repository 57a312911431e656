/**
 * What `/account?done=…` says after one of its forms succeeded (issue 15). Only these codes are
 * shown, from this table: the query is never echoed.
 */
export const ACCOUNT_NOTICES: Readonly<Record<string, string>> = {
  profile: 'Your display name was saved.',
  password: 'Your password was changed. Your other sessions were signed out.',
  session_revoked: 'The session was signed out.',
  avatar: 'Your new avatar was saved.',
  passkey_added: 'Your passkey was added. You can sign in with it from now on.',
  passkey_renamed: 'The passkey was renamed.',
  passkey_removed: 'The passkey was removed. It no longer signs in to this account.',
};

/** The notice for a `done` code, or undefined for an unknown one. */
export function accountNotice(done: string | undefined): string | undefined {
  return done !== undefined && Object.hasOwn(ACCOUNT_NOTICES, done)
    ? ACCOUNT_NOTICES[done]
    : undefined;
}

/**
 * The account forms' own paths answer a GET (a reload, or the "Back to the form" link of a
 * refusal page) with the account page, where the forms are.
 */
export const BACK_TO_ACCOUNT = '/account';
