//! The engine against queueing theory. A service fed by a Poisson workload, with exponential
//! service times, is the M/M/1 queue (one worker) or M/M/c (c workers), whose long-run means
//! are known in closed form. Each run is long, with the trace on and read as the run goes, as
//! the app reads it; it runs natively and in wasm.

use std::collections::{HashMap, HashSet};

use callflow_sim::engine::DEFAULT_TRACE_CAPACITY;
use callflow_sim::{figures, EventKind, JobId, Sim, SimTime};
use wasm_bindgen_test::wasm_bindgen_test;

/// What a run of [`figures::queue`] showed, in microseconds.
#[derive(Debug, Default)]
struct Observed {
    /// Jobs counted: those that arrived after the warm-up.
    jobs: u64,
    /// Their total time in the system (arrival to done) and waiting (arrival to start).
    sojourn: f64,
    wait: f64,
    /// Over the whole run: every job's wait, and the number waiting integrated over time.
    all_waits: f64,
    queue_area: f64,
    end: SimTime,
}

/// Runs the queue until it is empty, skipping the first `warmup` jobs' times.
fn observe(per_s: f64, service_ms: f64, workers: u32, jobs: u64, warmup: u64) -> Observed {
    let model = figures::queue(per_s, service_ms, workers, jobs).validate().unwrap();
    let mut sim = Sim::from_model(model, DEFAULT_TRACE_CAPACITY);
    let mut o = Observed::default();
    let mut arrived: HashMap<JobId, SimTime> = HashMap::new();
    let mut queued: HashSet<JobId> = HashSet::new();
    let (mut waiting, mut since) = (0u32, SimTime::ZERO);
    loop {
        // Chunks well inside the trace's capacity (a step writes a few events), so that no
        // event is missed.
        let seen = sim.trace().len();
        let ran = sim.run_until_idle(DEFAULT_TRACE_CAPACITY / 8);
        assert!(sim.trace().first_kept() <= seen, "the trace dropped unread events");
        for e in sim.trace().since(seen) {
            let counted = |job: JobId| job.0 >= warmup;
            match e.kind {
                EventKind::Arrived { job, .. } => {
                    arrived.insert(job, e.at);
                }
                EventKind::JobQueued { job, waiting: n, .. } => {
                    o.queue_area += f64::from(waiting) * (e.at - since).as_micros() as f64;
                    (waiting, since) = (n, e.at);
                    queued.insert(job);
                }
                EventKind::JobStarted { job, .. } => {
                    let wait = (e.at - arrived[&job]).as_micros() as f64;
                    if queued.remove(&job) {
                        o.queue_area += f64::from(waiting) * (e.at - since).as_micros() as f64;
                        (waiting, since) = (waiting - 1, e.at);
                    }
                    o.all_waits += wait;
                    if counted(job) {
                        o.wait += wait;
                    }
                }
                EventKind::JobDone { job, .. } => {
                    let at = arrived.remove(&job).unwrap();
                    if counted(job) {
                        o.sojourn += (e.at - at).as_micros() as f64;
                        o.jobs += 1;
                    }
                }
                _ => {}
            }
        }
        if ran == 0 {
            break;
        }
    }
    assert!(arrived.is_empty(), "every job that arrived was done");
    o.end = sim.now();
    o
}

fn within(observed: f64, expected: f64, share: f64) -> bool {
    (observed - expected).abs() <= share * expected
}

/// M/M/1: the mean time in the system is 1/(μ − λ).
fn mm1(rho: f64, jobs: u64) {
    let mu = 1000.0; // a second's worth of jobs at 1 ms each
    let lambda = rho * mu;
    let o = observe(lambda, 1.0, 1, jobs, jobs / 20);
    let mean_ms = o.sojourn / o.jobs as f64 / 1000.0;
    let theory_ms = 1000.0 / (mu - lambda);
    assert!(
        within(mean_ms, theory_ms, 0.05),
        "ρ = {rho}: mean time in system {mean_ms:.4} ms, theory {theory_ms:.4} ms"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn mm1_at_half_load_matches_one_over_mu_minus_lambda() {
    mm1(0.5, 400_000);
}

#[wasm_bindgen_test(unsupported = test)]
fn mm1_at_eighty_percent_load_matches_one_over_mu_minus_lambda() {
    mm1(0.8, 1_000_000);
}

/// The Erlang C formula: the chance that an arrival at M/M/c must wait, with offered load
/// `a` = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

#[wasm_bindgen_test(unsupported = test)]
fn mm3_waits_as_erlang_c_says() {
    let (c, mu, lambda) = (3, 1000.0, 2100.0);
    let o = observe(lambda, 1.0, c, 600_000, 30_000);
    let mean_wait_ms = o.wait / o.jobs as f64 / 1000.0;
    let theory_ms = erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda) * 1000.0;
    assert!(
        within(mean_wait_ms, theory_ms, 0.05),
        "mean wait {mean_wait_ms:.4} ms, Erlang C says {theory_ms:.4} ms"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn littles_law_holds_for_the_queue() {
    // L = λW for the jobs waiting: the time-average number waiting equals the arrival rate
    // times the mean wait. The run starts and ends empty, so over the whole run the two sides
    // are the same sum, counted once by time and once by job.
    let jobs = 50_000;
    let o = observe(1800.0, 1.0, 2, jobs, 0);
    let span = o.end.as_micros() as f64;
    let l = o.queue_area / span;
    let lambda_w = (jobs as f64 / span) * (o.all_waits / jobs as f64);
    assert!(l > 0.5, "the queue was busy enough to mean something: L = {l}");
    assert!(within(l, lambda_w, 1e-12), "L = {l}, λW = {lambda_w}");
}

#[wasm_bindgen_test(unsupported = test)]
fn erlang_c_is_the_textbook_number() {
    // One server: the chance of waiting is the load itself.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
    // A value from the tables: c = 2, a = 1 gives 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}
