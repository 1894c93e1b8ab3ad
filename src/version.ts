import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package version, read from package.json (works from src/ and build/dist/src/). */
export function version(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      cached = (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? 'unknown';
      return cached;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
