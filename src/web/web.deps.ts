import type { LoginDeps } from '../auth/accounts/login-flow.js';
import type { FormCsrf } from './form-csrf.js';
import type { Render } from './render.js';

/** What the page routes use: the API's login and account services, the renderer, the forms' CSRF. */
export interface WebDeps {
  readonly login: LoginDeps;
  readonly render: Render;
  readonly forms: FormCsrf;
}

/** Every page route: served as a document (page headers and CSP), open to anyone, not in OpenAPI. */
export const PAGE = { access: 'public', page: true } as const;
