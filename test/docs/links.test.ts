/**
 * The README is the front door and `docs/` holds the reference: every relative link between them
 * must reach an existing file, and every `#anchor` a heading of that file (GitHub's slugs), so
 * moving or renaming a section cannot leave a dead link behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function withoutCode(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

function anchorsOf(markdown: string): Set<string> {
  const headings = withoutCode(markdown).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((h) => slugOf(h.replace(/^#+ /, ''))));
}

function linksOf(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

describe('the documentation links', () => {
  it('has a front-door README of a couple of hundred lines and the reference in docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf-8');

    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    expect(PAGES.length).toBeGreaterThan(5);
  });

  it.each(PAGES)('%s links only to files and headings that exist', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf-8');
    const dead: string[] = [];
    for (const link of linksOf(text)) {
      if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path));
      if (!existsSync(target)) {
        dead.push(`${link} (no file ${relative(ROOT, target)})`);
        continue;
      }
      if (anchor !== undefined && target.endsWith('.md')) {
        if (!anchorsOf(readFileSync(target, 'utf-8')).has(anchor))
          dead.push(`${link} (no heading #${anchor})`);
      }
    }

    expect(dead).toEqual([]);
  });
});
