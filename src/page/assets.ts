// The live page's static files, read once when `serve` starts and handed to
// the server's asset hook.
//
// The page is plain files next to this module (index.html, app.js,
// style.css) rather than strings inside TypeScript: they stay real HTML/JS
// that an editor, `node --check` and a browser's devtools understand, and
// nothing needs escaping. tsc does not copy them into build/dist, so they are
// found from the package root (the nearest package.json named "ethburst"
// above this module), which is the same directory whether this runs from
// src/ under vitest or from build/dist/src/ compiled. uPlot is found the way
// Node finds any dependency (createRequire), so hoisting or a nested
// node_modules does not matter.
//
// If a file is missing (an image that shipped build/dist without src/page),
// `/` explains what is missing instead of the exporter refusing to start:
// metrics matter more than the page.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Asset = { type: string; body: string | Buffer };
export type AssetFunction = (path: string) => Asset | null;

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const UPLOT_FILES: Record<string, { file: string; type: string }> = {
  '/ui/uplot.min.js': { file: 'dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/ui/uplot.min.css': { file: 'dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** The directory holding index.html and app.js, or null when this install lacks it. */
export function pageDirectory(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  if (existsSync(join(from, 'index.html'))) return from;
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ethburst') {
          const page = join(dir, 'src', 'page');
          return existsSync(join(page, 'index.html')) ? page : null;
        }
      } catch {
        // An unreadable package.json on the way up is not ours.
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

function uplotDirectory(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  } catch {
    return null;
  }
}

// Unstyled: the content security policy forbids inline styles.
const MISSING = (what: string[]) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ethburst</title></head>
<body>
<h1>ethburst</h1>
<p>The live page is not part of this installation; missing: ${what.map((w) => `<code>${w.replace(/[<>&"]/g, '')}</code>`).join(', ')}.
Ship <code>src/page/</code> and <code>node_modules/uplot/</code> with <code>build/dist/</code>.</p>
<p>The exporter itself works: <a href="/metrics">/metrics</a>, <a href="/api/devices">/api/devices</a>,
<a href="/api/bursts">/api/bursts</a>, <a href="/api/series">/api/series</a>.</p>
</body></html>
`;

/**
 * The asset function for `createServer({ assets })`. Reads every file once,
 * now; requests are served from memory.
 */
export function pageAssets(opts: { pageDir?: string | null; uplotDir?: string | null } = {}): AssetFunction {
  const pageDir = opts.pageDir !== undefined ? opts.pageDir : pageDirectory();
  const uplotDir = opts.uplotDir !== undefined ? opts.uplotDir : uplotDirectory();
  const table = new Map<string, Asset>();
  const missing: string[] = [];
  const load = (files: Record<string, { file: string; type: string }>, dir: string | null, label: string): void => {
    for (const [path, { file, type }] of Object.entries(files)) {
      const full = dir === null ? null : join(dir, file);
      if (full === null || !existsSync(full)) {
        missing.push(`${label}/${file}`);
        continue;
      }
      table.set(path, { type, body: readFileSync(full) });
    }
  };
  load(PAGE_FILES, pageDir, 'src/page');
  load(UPLOT_FILES, uplotDir, 'node_modules/uplot');
  if (missing.length > 0) {
    const notice: Asset = { type: 'text/html; charset=utf-8', body: MISSING(missing) };
    return (path) => (path === '/' ? notice : null);
  }
  return (path) => table.get(path) ?? null;
}
