//! The workload callflow's benchmark times, the same natively and in wasm: the M/M/1 queue at
//! 80 % load ([`callflow_sim::figures::queue`]), run until every job is done, with the trace on
//! at its default capacity, as the app runs it. `cargo bench -p callflow-bench` times it
//! natively; `scripts/bench` also builds this crate for Node and times it there.

use callflow_sim::engine::DEFAULT_TRACE_CAPACITY;
use callflow_sim::{figures, Sim};
use wasm_bindgen::prelude::wasm_bindgen;

/// What one run did.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub struct Work {
    /// Jobs that arrived and were served.
    pub jobs: u32,
    /// Entries taken off the agenda: arrivals and ends of work.
    pub steps: f64,
    /// Events written to the trace.
    pub events: f64,
}

/// Runs `jobs` jobs through M/M/1 at ρ = 0.8 (mean service 1 ms).
#[wasm_bindgen]
pub fn run_queue(jobs: u32) -> Work {
    let model = figures::queue(800.0, 1.0, 1, u64::from(jobs))
        .validate()
        .expect("the built-in queue is valid");
    let mut sim = Sim::from_model(model, DEFAULT_TRACE_CAPACITY);
    let steps = sim.run_until_idle(usize::MAX);
    Work { jobs, steps: steps as f64, events: sim.trace().len() as f64 }
}
