import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow past the live heap before its next
 * major collection. V8's default lets a busy bridge (live heap about 50 MiB)
 * grow to 320–360 MiB of RSS under a webhook storm; at 35 % it stays under
 * 200 MiB with the same throughput, at the cost of more frequent collections
 * (see bench/README.md, "Last results"). A `--heap-growing-percent` given to
 * node on the command line wins.
 */
const HEAP_GROWING_PERCENT = 35;

if (!process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent'))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
