// The runtime never loads benchmark code: serve, record, analyze, watch,
// simulate and rules reach nothing under src/bench/ or src/harness/, not
// even through a dynamic import(), and `ethburst bench` loads them only
// inside run (its --help and flag errors do not). Checked on the import
// graph of the TypeScript sources, read with the compiler's own parser:
// deterministic, and it fails on the first static import that crosses.

import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

interface Imports {
  /** Modules loaded when this one is: import/export ... from, side-effect imports. */
  static: string[];
  /** import('...') calls. */
  dynamic: string[];
}

const cache = new Map<string, Imports>();

/** The relative imports of one source file, resolved to .ts paths; type-only imports are left out (they are erased). */
function importsOf(file: string): Imports {
  const hit = cache.get(file);
  if (hit) return hit;
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Imports = { static: [], dynamic: [] };
  const add = (list: string[], spec: string): void => {
    if (spec.startsWith('.')) list.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) add(out.static, node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) add(out.static, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(out.dynamic, arg.text);
      else throw new Error(`${file}: import() of a computed name cannot be checked`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  cache.set(file, out);
  return out;
}

/** Every module reachable from `entry` (static imports only, or dynamic ones too), as paths under src/. */
function closure(entry: string, followDynamic: boolean): Map<string, string[]> {
  // module -> the chain of imports that reached it, for the failure message.
  const seen = new Map<string, string[]>();
  const queue: [string, string[]][] = [[join(SRC, entry), []]];
  while (queue.length > 0) {
    const [file, via] = queue.shift()!;
    const name = relative(SRC, file);
    if (seen.has(name)) continue;
    seen.set(name, via);
    const { static: s, dynamic: d } = importsOf(file);
    for (const next of followDynamic ? [...s, ...d] : s) queue.push([next, [...via, name]]);
  }
  return seen;
}

function benchCode(mods: Map<string, string[]>): string[] {
  return [...mods].filter(([m]) => /^(bench|harness)\//.test(m)).map(([m, via]) => `${[...via, m].join(' -> ')}`);
}

describe('nothing in the runtime imports benchmark code', () => {
  it('src/cli.ts, without following its commands table, loads no bench/ or harness/ module', () => {
    expect(benchCode(closure('cli.ts', false))).toEqual([]);
  });

  for (const command of ['serve', 'record', 'analyze', 'watch', 'simulate', 'rules']) {
    it(`ethburst ${command} reaches no bench/ or harness/ module, dynamic imports included`, () => {
      const mods = closure(`commands/${command}.ts`, true);
      expect(mods.size).toBeGreaterThan(1);
      expect(benchCode(mods)).toEqual([]);
    });
  }

  it('ethburst bench loads the benchmark only inside run: its static imports reach no bench/ or harness/ module', () => {
    expect(benchCode(closure('commands/bench.ts', false))).toEqual([]);
  });

  it('and its dynamic imports do reach the measurements and the harness (the check sees them)', () => {
    const mods = closure('commands/bench.ts', true);
    expect(mods.has('bench/cost.ts')).toBe(true);
    expect(mods.has('harness/children.ts')).toBe(true);
    expect(mods.has('harness/netns.ts')).toBe(true);
  });
});
