/**
 * Issue 14, item 12: the sanitizer's output is always well-formed. A link whose href is dropped
 * used to be turned into a discarded `span`, and sanitize-html then wrote the next closing tag at
 * that depth as `</span>`, leaving `<i>`, `<b>` or `<a>` open in stored content. Here random
 * nestings of allowed and disallowed tags (links with relative, `javascript:` and http hrefs,
 * stray attributes) are sanitized and the output parsed: balanced, allowlisted, idempotent.
 */
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { ALLOWED_TAGS, LINK_REL, sanitizeContent } from './sanitize.js';

/** mulberry32: a small seeded generator, so every run sees the same cases. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const DISALLOWED_TAGS = [
  'span',
  'div',
  'u',
  'font',
  'h1',
  'table',
  'td',
  'img',
  'br',
  'form',
  'details',
  'custom-el',
  'script',
  'style',
  'iframe',
  'svg',
  'noscript',
  'textarea',
];

const HREFS = [
  '/relative',
  'relative/path',
  '#frag',
  '?q=1',
  '//proto.example/x',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  ' javascript:alert(1)',
  'data:text/html,<b>x</b>',
  'vbscript:msgbox(1)',
  'mailto:a@example.com',
  'http://example.com/a',
  'https://example.com/b?c=d&e=f',
  'http://exa mple.com',
  '',
];

const TEXTS = ['x', 'hello world', ' ', 'a & b', '1 > 0', 'quote "q"', "it's", 'é ü'];

function attributes(random: Random, tag: string): string {
  let out = '';
  if (tag === 'a' && random() < 0.85) out += ` href="${pick(random, HREFS)}"`;
  const extras = [
    ' onclick="alert(1)"',
    ' class="c"',
    ' style="color:red"',
    ' title="t"',
    ' id="i"',
    ' rel="opener"',
    ' target="_blank"',
    ' href="https://example.com/not-a-link"',
    ' src="x"',
  ];
  const count = Math.floor(random() * 3);
  for (let n = 0; n < count; n++) out += pick(random, extras);
  return out;
}

/** A random fragment: text and elements nested up to `depth`, mostly well-formed input. */
function fragment(random: Random, depth: number): string {
  const parts: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let n = 0; n < count; n++) {
    const roll = random();
    if (roll < 0.03) {
      parts.push(`</${pick(random, ['p', 'a', 'b', 'li', 'span', 'ul'])}>`); // a stray close
      continue;
    }
    if (depth <= 0 || roll < 0.25) {
      parts.push(pick(random, TEXTS));
      continue;
    }
    const tag =
      roll < 0.45 ? 'a' : roll < 0.75 ? pick(random, ALLOWED_TAGS) : pick(random, DISALLOWED_TAGS);
    const inner = fragment(random, depth - 1);
    const close = random() < 0.95 ? `</${tag}>` : ''; // now and then left open
    parts.push(`<${tag}${attributes(random, tag)}>${inner}${close}`);
  }
  return parts.join(random() < 0.5 ? '' : ' ');
}

/** What a parse of the output finds wrong with it (empty when the output is well-formed). */
function problems(html: string): string[] {
  const found: string[] = [];
  const open: string[] = [];
  let explicitCloses = 0;
  const allowed = new Set<string>(ALLOWED_TAGS);
  const parser = new Parser(
    {
      onopentag(name, attribs, isImplied) {
        if (isImplied) found.push(`implied <${name}>`);
        if (!allowed.has(name)) found.push(`tag <${name}>`);
        const names = Object.keys(attribs);
        if (name === 'a') {
          if (names.join(',') !== 'href,rel') found.push(`a attributes ${names.join(',')}`);
          const href = attribs.href ?? '';
          if (!/^https?:\/\//.test(href)) found.push(`href ${href}`);
          if (attribs.rel !== LINK_REL) found.push(`rel ${attribs.rel}`);
        } else if (names.length > 0) {
          found.push(`<${name}> attributes ${names.join(',')}`);
        }
        open.push(name);
      },
      onclosetag(name, isImplied) {
        if (isImplied) {
          found.push(`implied </${name}>`);
          return;
        }
        explicitCloses++;
        const top = open.pop();
        if (top !== name) found.push(`</${name}> closes <${top}>`);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  // htmlparser2 ignores a closing tag that matches nothing open: count them in the text.
  // Text is escaped (`<` is `&lt;`), so every `</` in the output is a closing tag.
  const closesWritten = html.split('</').length - 1;
  if (closesWritten !== explicitCloses) {
    found.push(`${closesWritten - explicitCloses} closing tag(s) that close nothing`);
  }
  if (open.length > 0) found.push(`left open: ${open.join(',')}`);
  return found;
}

describe('sanitizeContent: output is well-formed (issue 14, item 12)', () => {
  it('unwraps a link whose href is dropped without corrupting the next closing tag', () => {
    const out = sanitizeContent('<p><a href="/relative">rel</a> <i>i</i></p>');
    expect(out).toBe('<p>rel <i>i</i></p>');
    expect(problems(out)).toEqual([]);
  });

  it('keeps later tags closed after several dropped links at different depths', () => {
    const out = sanitizeContent(
      '<ul><li><a href="javascript:alert(1)">j</a><b>b</b></li><li><a>none</a> <em>e</em></li></ul>' +
        '<p><a href="https://ok.example/">ok</a><a href="/r"><strong>s</strong></a><code>c</code></p>',
    );
    expect(out).toBe(
      `<ul><li>j<b>b</b></li><li>none <em>e</em></li></ul><p><a href="https://ok.example/" rel="${LINK_REL}">ok</a><strong>s</strong><code>c</code></p>`,
    );
    expect(problems(out)).toEqual([]);
  });

  it('stays balanced past the nesting limit', () => {
    const layers = Array.from({ length: 40 }, (_, n) =>
      n % 3 === 0
        ? ['<a href="/r">', '</a>']
        : n % 3 === 1
          ? ['<b>', '</b>']
          : ['<span>', '</span>'],
    );
    const input =
      layers.map(([open]) => open).join('') +
      'deep' +
      layers
        .map(([, close]) => close)
        .reverse()
        .join('');
    const out = sanitizeContent(input);
    expect(out).toContain('deep');
    expect(problems(out)).toEqual([]);
    expect(sanitizeContent(out)).toBe(out);
  });

  it('is balanced, allowlisted and idempotent over random nestings (fixed seed)', () => {
    const random = seeded(0x14_12);
    const failures: { input: string; output: string; problems: string[] }[] = [];
    for (let n = 0; n < 600; n++) {
      const input = fragment(random, 1 + Math.floor(random() * 5));
      const output = sanitizeContent(input);
      const found = problems(output);
      const again = sanitizeContent(output);
      if (again !== output) found.push(`not idempotent: ${again}`);
      if (found.length > 0) failures.push({ input, output, problems: found });
    }
    expect({ failing: failures.length, first: failures.slice(0, 3) }).toEqual({
      failing: 0,
      first: [],
    });
  });
});
