import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PackageInfo {
  name: string;
  version: string;
  description: string;
}

/**
 * The bridge's own package.json, found by walking up from this file: it sits
 * two levels up in the sources and three in the build (dist/src/home).
 */
export function readPackageInfo(from: string = __dirname): PackageInfo {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(
        readFileSync(join(dir, 'package.json'), 'utf8'),
      ) as Partial<PackageInfo>;
      if (pkg.name === 'flowdock-github-bridge') {
        return {
          name: pkg.name,
          version: pkg.version ?? 'unknown',
          description: pkg.description ?? '',
        };
      }
    } catch {
      // No (readable) package.json here: look further up.
    }
    if (dirname(dir) === dir) {
      return { name: 'flowdock-github-bridge', version: 'unknown', description: '' };
    }
  }
}
