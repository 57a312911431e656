/**
 * The one stylesheet of the hosted pages, served from our own origin (the page CSP allows
 * `style-src 'self'` and nothing inline). Readable on a phone: one column, system fonts, large
 * touch targets, contrast above WCAG AA.
 */
import { createHash } from 'node:crypto';

const CSS = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f4f5f7}
a{color:#0645ad}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.top{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1rem;background:#1f2937;color:#fff}
.top a{color:#fff;font-weight:600;text-decoration:none}
main{max-width:34rem;margin:1.5rem auto;padding:1.25rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
main.wide{max-width:60rem}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem .7rem;font-size:1rem;border:1px solid #6b7280;border-radius:.35rem}
button{margin-top:1rem;padding:.65rem 1.2rem;font-size:1rem;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.35rem;cursor:pointer}
button.secondary{background:#374151}
.error{border-left:4px solid #b91c1c;background:#fef2f2;padding:.5rem 1rem;margin-bottom:1rem}
.notice{border-left:4px solid #047857;background:#ecfdf5;padding:.5rem 1rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#eef0f3;padding:0 .25rem;border-radius:.2rem}
.links{margin-top:1.25rem}
a.button{display:inline-block;margin-top:.5rem;padding:.6rem 1.1rem;font-weight:600;color:#111827;background:#fff;border:1px solid #374151;border-radius:.35rem;text-decoration:none}
ul.providers{list-style:none;padding:0;margin:1rem 0 0}
[hidden]{display:none!important}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
form.inline{display:inline}
form.inline button{margin-top:0;padding:.35rem .8rem;font-size:.9rem}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #d1d5db;vertical-align:top}
td.agent{word-break:break-word;max-width:22rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;word-break:break-word}
@media (max-width:480px){main{margin:0;border-radius:0;box-shadow:none}}
`;

export const STYLESHEET = Object.freeze({
  css: CSS,
  /** The URL pages link to; the content hash in it lets browsers cache it for good. */
  href: `/assets/bastion.css?v=${createHash('sha256').update(CSS).digest('hex').slice(0, 12)}`,
  path: '/assets/bastion.css',
});
