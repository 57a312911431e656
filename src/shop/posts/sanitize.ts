/**
 * The rich-text allowlist (DESIGN.md, Shop): `p b i em strong ul ol li a[href] code pre
 * blockquote`, links to absolute http(s) URLs only, each with `rel="nofollow noopener noreferrer"`.
 * Everything else is dropped on write; script-like elements lose their content too, so a
 * payload is never kept as visible text either.
 */
import { createRequire } from 'node:module';
import type SanitizeHtml from 'sanitize-html';

export const ALLOWED_TAGS = [
  'p',
  'b',
  'i',
  'em',
  'strong',
  'ul',
  'ol',
  'li',
  'a',
  'code',
  'pre',
  'blockquote',
] as const;

export const LINK_REL = 'nofollow noopener noreferrer';

/** Elements whose content is dropped with them (their text is code, styling or a fallback). */
const DROPPED_WITH_CONTENT = [
  'script',
  'style',
  'iframe',
  'frame',
  'frameset',
  'noframes',
  'noscript',
  'noembed',
  'object',
  'applet',
  'template',
  'textarea',
  'select',
  'option',
  'xmp',
  'plaintext',
  'title',
  'head',
  'svg',
  'math',
];

/** The href as a normalized absolute http(s) URL, or undefined for anything else. */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined; // relative, protocol-relative without a base, or garbage
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
}

/**
 * sanitize-html (with htmlparser2 and postcss) is required on the first post, not at start-up
 * (issue 17). It is CommonJS, so the load is synchronous and `sanitizeContent` stays so.
 */
let loaded: typeof SanitizeHtml | undefined;
function sanitizeHtml(html: string, options: SanitizeHtml.IOptions): string {
  loaded ??= createRequire(import.meta.url)('sanitize-html') as typeof SanitizeHtml;
  return loaded(html, options);
}

const OPTIONS: SanitizeHtml.IOptions = {
  allowedTags: [...ALLOWED_TAGS],
  allowedAttributes: { a: ['href', 'rel'] },
  allowedClasses: {},
  allowedStyles: {},
  parseStyleAttributes: false,
  allowedSchemes: ['http', 'https'],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  allowVulnerableTags: false,
  disallowedTagsMode: 'discard',
  nonTextTags: DROPPED_WITH_CONTENT,
  // Deeper nesting is flattened (text kept): no legitimate post needs it.
  nestingLimit: 32,
  transformTags: {
    // Our own rel on every link; a link without an acceptable href loses its attributes here
    // and is unwrapped by `exclusiveFilter` below. sanitize-html checks the scheme again after
    // this. The tag keeps its name: renaming it to a discarded tag (`span`) left a stale rename
    // behind, and the next closing tag at that depth was written as `</span>` (issue 14, item 12).
    a: (_tag, attribs): SanitizeHtml.Tag => {
      const href = safeHref(attribs.href);
      return { tagName: 'a', attribs: href === undefined ? {} : { href, rel: LINK_REL } };
    },
  },
  // sanitize-html's documented unwrap: 'excludeTag' drops the tag and keeps its content.
  exclusiveFilter: (frame) => (frame.tag === 'a' && !frame.attribs.href ? 'excludeTag' : false),
};

/**
 * Reduces untrusted HTML to the allowlist, as markup that parses the way it reads. A dropped
 * wrapper can leave a block directly inside a paragraph (`<p><div><ul>` keeps `<p><ul>`), which
 * a parser reads as `<p></p><ul>…</ul><p></p>`; the second pass writes that structure out, so
 * what is stored is balanced and sanitizing it again changes nothing (issue 14, item 12).
 */
export function sanitizeContent(html: string): string {
  return sanitizeHtml(sanitizeHtml(html, OPTIONS), OPTIONS);
}

/** Whether sanitized HTML has any visible text left (markup alone is not a post). */
export function hasText(sanitized: string): boolean {
  return sanitizeHtml(sanitized, { allowedTags: [], allowedAttributes: {} }).trim() !== '';
}
