import fs from 'node:fs';
const files = fs.readFileSync('/tmp/prof/own2.txt', 'utf8').trim().split('\n');
const runs = [];
let t = performance.now();
const t0 = t;
const out = [];
for (const f of files) { await import(f); const n = performance.now(); out.push([f.replace('/work/main/dist/src/', ''), n - t]); t = n; }
out.sort((a, b) => b[1] - a[1]);
console.log('total', (t - t0).toFixed(1));
for (const [f, d] of out.slice(0, 30)) console.log(d.toFixed(1).padStart(6), f);
