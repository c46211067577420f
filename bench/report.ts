/** scale.bench.ts imports the report type from here; it lives in tools/report.ts. */
export type { Report } from './tools/report.js';
