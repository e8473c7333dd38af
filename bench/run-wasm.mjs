// The same workload as `cargo bench -p callflow-bench`, in wasm under Node: built by
// scripts/bench with `wasm-pack build --release --target nodejs bench`. Prints the median of
// several runs; asserts nothing.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const pkg = process.argv[2] ?? new URL('../target/bench-wasm/callflow_bench.js', import.meta.url).pathname;
const { run_queue } = require(pkg);

const JOBS = 1_000_000;
const RUNS = 7;
run_queue(JOBS / 10); // warm-up, not counted
const secs = [];
let work;
for (let i = 0; i < RUNS; i++) {
  const start = performance.now();
  work = run_queue(JOBS);
  secs.push((performance.now() - start) / 1000);
}
secs.sort((a, b) => a - b);
const median = secs[Math.floor(RUNS / 2)];
const m = (x) => (x / median / 1e6).toFixed(2);
console.log(`wasm:   M/M/1 at ρ = 0.8, ${JOBS} jobs, median of ${RUNS} runs: ${median.toFixed(3)} s`);
console.log(`wasm:   ${m(work.events)} M trace events/s, ${m(work.steps)} M agenda steps/s, ${m(work.jobs)} M jobs/s`);
