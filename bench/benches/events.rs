//! `cargo bench -p callflow-bench`: the simulator's speed natively, in events a second with
//! the trace on. Prints the median of several runs; asserts nothing.

use std::time::Instant;

use callflow_bench::run_queue;

const JOBS: u32 = 1_000_000;
const RUNS: usize = 7;

fn main() {
    // One run to warm caches and the allocator, not counted.
    run_queue(JOBS / 10);
    let mut secs = Vec::with_capacity(RUNS);
    let mut work = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        work = Some(std::hint::black_box(run_queue(JOBS)));
        secs.push(start.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[RUNS / 2];
    let w = work.expect("at least one run");
    println!("native: M/M/1 at ρ = 0.8, {JOBS} jobs, median of {RUNS} runs: {median:.3} s");
    println!(
        "native: {:.2} M trace events/s, {:.2} M agenda steps/s, {:.2} M jobs/s",
        w.events / median / 1e6,
        w.steps / median / 1e6,
        f64::from(w.jobs) / median / 1e6
    );
}
