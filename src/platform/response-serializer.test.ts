import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isDirectionless, serializerCompiler } from './response-serializer.js';

const compile = (schema: z.ZodType) =>
  serializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });

describe('response serializer', () => {
  it('parses plain schemas and keeps encoding for anything direction-dependent', () => {
    const user = z.object({
      id: z.uuid(),
      tags: z.array(z.enum(['a', 'b'])),
      at: z.string().nullable(),
    });
    expect(isDirectionless(user)).toBe(true);
    expect(isDirectionless(z.union([user, z.literal(1)]).optional())).toBe(true);
    expect(isDirectionless(z.object({ n: z.number().default(1) }))).toBe(false);
    expect(isDirectionless(z.object({ n: z.string().transform((s) => s.length) }))).toBe(false);
    expect(
      isDirectionless(
        z.array(
          z.codec(z.iso.datetime(), z.date(), {
            decode: (s) => new Date(s),
            encode: (d) => d.toISOString(),
          }),
        ),
      ),
    ).toBe(false);
    expect(isDirectionless(z.lazy(() => z.string()))).toBe(false);
  });

  it('sends only what the schema allows and refuses what it does not describe', () => {
    const send = compile(z.object({ id: z.string() }));
    expect(send({ id: 'a', passwordHash: 'secret' })).toBe('{"id":"a"}');
    expect(() => send({ id: 1 })).toThrow();
  });

  it('runs a codec backwards, as the encoder it replaces did', () => {
    const when = z.codec(z.iso.datetime(), z.date(), {
      decode: (s) => new Date(s),
      encode: (d) => d.toISOString(),
    });
    const send = compile(z.object({ at: when }));
    expect(send({ at: new Date('2026-01-02T03:04:05.000Z') })).toBe(
      '{"at":"2026-01-02T03:04:05.000Z"}',
    );
  });
});
