/**
 * A multipart upload that carries no image in the field `file` (issue 14, item 10): no part at
 * all, only a text field, or a file under another name. That is a client mistake, not a body that
 * is too large: 400 `validation_failed` naming `body.file`, on every upload route.
 */
import { describe, expect, it } from 'vitest';
import type { Actors } from '../support/actors.js';
import type { TestContext } from '../support/app.js';
import { useCast } from '../support/cast-app.js';
import { solidImage } from '../support/images.js';
import { multipart, type Part } from '../support/multipart.js';
import { createProduct } from '../support/shop.js';

let ctx: TestContext;
let actors: Actors;
let productId: string;

useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  {
    setup: async (c, a) => {
      productId = await createProduct(c.app, a.admin.headers);
    },
  },
);

const ROUTES = [
  { name: 'PUT /users/me/avatar', url: () => '/users/me/avatar', as: () => actors.user },
  {
    name: 'PUT /products/:id/image',
    url: () => `/products/${productId}/image`,
    as: () => actors.admin,
  },
];

const FORMS: { name: string; parts: () => Promise<Part[]> }[] = [
  { name: 'a form with no part at all', parts: async () => [] },
  { name: 'a form with only a text field', parts: async () => [{ name: 'note', data: 'hello' }] },
  {
    name: 'a form whose file is under another name',
    parts: async () => [{ name: 'avatar', filename: 'a.png', data: await solidImage(4, 4) }],
  },
];

describe.each(ROUTES)('$name without a file', (route) => {
  it.each(FORMS)('$name: 400 validation_failed naming body.file', async (form) => {
    const body = multipart(await form.parts());
    const res = await ctx.app.inject({
      method: 'PUT',
      url: route.url(),
      headers: { ...route.as().headers, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = res.json() as { code: string; errors?: { path: string; message: string }[] };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors).toEqual([{ path: 'body.file', message: expect.any(String) }]);
  });
});
