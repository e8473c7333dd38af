//! The three figures side by side: one workload (a rate and a seed the reader picks) run for a
//! minute of simulated time under each, and their numbers in one table.

use leptos::prelude::*;

use crate::compare::{busy_share, compare, parse, Comparison, HORIZON};
use crate::metrics::{percent, rate, Summary};

/// The rate and seed the section starts with.
const START_RATE: &str = "1.5";
const START_SEED: &str = "2026";

/// The side-by-side section of the main page.
#[component]
pub fn Compare() -> impl IntoView {
    let rate_text = RwSignal::new(START_RATE.to_string());
    let seed_text = RwSignal::new(START_SEED.to_string());
    let start = parse(START_RATE, START_SEED).and_then(|(r, s)| compare(r, s));
    let (first, problem) = match start {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    let result = RwSignal::new(first);
    let error = RwSignal::new(problem);

    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = parse(&rate_text.get_untracked(), &seed_text.get_untracked());
        match parsed.and_then(|(r, s)| compare(r, s)) {
            Ok(c) => {
                result.set(Some(c));
                error.set(None);
            }
            // The last results stay: the message says they are the last run's.
            Err(e) => error.set(Some(e)),
        }
    };

    view! {
        <section class="compare" aria-labelledby="compare-heading" data-test="compare">
            <h2 id="compare-heading">"Side by side: one workload, three ways"</h2>
            <p>
                {format!(
                    "Jobs arrive at A at random (a Poisson process) at the rate you pick, the same \
                     arrivals for every figure, and each figure runs for {:.0} s of simulated time.",
                    HORIZON.as_millis_f64() / 1000.0
                )}
            </p>
            <form class="compare-form" on:submit=run>
                <label>
                    "Jobs a second "
                    <input type="text" inputmode="decimal" data-test="compare-rate"
                        prop:value=move || rate_text.get()
                        on:input=move |ev| rate_text.set(event_target_value(&ev)) />
                </label>
                <label>
                    "Seed "
                    <input type="text" inputmode="numeric" data-test="compare-seed"
                        prop:value=move || seed_text.get()
                        on:input=move |ev| seed_text.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="action" data-test="compare-run">"Run the three"</button>
            </form>
            <p class="notice error" role="alert" data-test="compare-error">{move || error.get()}</p>
            {move || result.get().map(|c| table(&c))}
        </section>
    }
}

/// The numbers of the three runs, a column each, and what they say.
fn table(c: &Comparison) -> impl IntoView {
    let heads =
        c.runs.iter().map(|r| view! { <th scope="col">{column(r.kind)}</th> }).collect_view();
    let row = |name: &'static str, cell: fn(&Summary) -> String| {
        let cells = c.runs.iter().map(|r| view! { <td>{cell(&r.summary)}</td> }).collect_view();
        view! { <tr><th scope="row">{name}</th>{cells}</tr> }
    };
    view! {
        <p class="compare-sentence" data-test="compare-sentence">{c.sentence()}</p>
        <div class="compare-table">
            <table data-test="compare-table">
                <caption>{format!("{} jobs a second, seed {}", rate(c.per_s).trim_end_matches("/s"), c.seed)}</caption>
                <thead><tr><th scope="col">"A's numbers"</th>{heads}</tr></thead>
                <tbody>
                    {row("latency p50", |s| s.latency.map_or_else(|| "none finished".into(), |l| l.p50.to_string()))}
                    {row("latency p95", |s| s.latency.map_or_else(|| "none finished".into(), |l| l.p95.to_string()))}
                    {row("latency p99", |s| s.latency.map_or_else(|| "none finished".into(), |l| l.p99.to_string()))}
                    {row("blocked on calls", |s| s.blocked_share.map_or_else(|| "not busy".into(), percent))}
                    {row("A's worker busy", |s| percent(busy_share(s)))}
                    {row("jobs done", |s| s.done.to_string())}
                    {row("throughput", |s| s.per_s.map_or_else(|| "—".into(), rate))}
                    {row("failed or lost", |s| (s.failed + s.lost).to_string())}
                    {row("queue, at most", |s| s.queue.as_ref().map_or_else(|| "no queue".into(), |q| q.deepest.to_string()))}
                    {row("consumer lag p50", |s| s.queue.as_ref().and_then(|q| q.lag).map_or_else(|| "—".into(), |l| l.p50.to_string()))}
                </tbody>
            </table>
        </div>
    }
}

/// A column's title: the figure and its style in a word.
fn column(kind: crate::catalog::FigureKind) -> String {
    use crate::catalog::FigureKind::*;
    let style = match kind {
        RequestResponse => "synchronous",
        Broker => "asynchronous",
        Hybrid => "hybrid",
        GraphQl => "GraphQL",
        Log => "partitioned log",
    };
    format!("Figure {}, {style}", kind.number())
}
