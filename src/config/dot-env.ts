import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Completes `env` (process.env by default) from the `.env` file in `dir` (the
 * working directory by default): a variable already set, even to an empty
 * string, wins over the file. Node's own parser reads the file (the format of
 * `node --env-file`: KEY=value lines, # comments, quoted values, optional
 * `export`). Returns the file's path when it was read, undefined when there is
 * none; throws when a file is there but cannot be read.
 */
export function loadDotEnv(
  env: Record<string, string | undefined> = process.env,
  dir: string = process.cwd(),
): string | undefined {
  const file = join(dir, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new Error(`.env: cannot read ${file} (${code ?? (error as Error).message})`);
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  return file;
}
