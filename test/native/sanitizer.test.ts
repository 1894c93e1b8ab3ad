// The sampler's C++ under AddressSanitizer, LeakSanitizer and UBSan:
// start/stop loops, device churn, ring wrap and overrun, back-off.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}build/test/sampler-asan`;
const probe = spawnSync('sh', ['-c', 'echo "int main(){return 0;}" | g++ -x c++ -fsanitize=address,undefined -o /dev/null -'], { encoding: 'utf8' });
const haveAsan = probe.status === 0;
const dev = existsSync('/sys/class/net/eth0') ? 'eth0' : 'lo';

describe.skipIf(!haveAsan)(`native code under sanitizers ${haveAsan ? '' : '(skipped: g++ with libasan/libubsan not available)'}`, () => {
  it('runs 30 start/stop rounds with no leak, no memory error, no undefined behaviour', () => {
    mkdirSync(`${ROOT}build/test`, { recursive: true });
    const build = spawnSync(
      'g++',
      ['-std=c++20', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-pthread', '-o', OUT,
        `${ROOT}test/native/sanitize/harness.cc`, `${ROOT}native/sampler.cc`, `${ROOT}native/ethtool.cc`, `${ROOT}native/context.cc`, `${ROOT}native/links.cc`],
      { encoding: 'utf8' },
    );
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    const run = spawnSync(OUT, [dev, '30'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ok \d+ records/);
  }, 150_000);
});
