/** scale.bench.ts imports the process tools from here; they live in tools/cli-procs.ts. */
export { stop, waitFor, type Proc } from './tools/cli-procs.js';
