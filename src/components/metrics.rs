//! The figure in numbers: A's latency, how much of its time calls hold it, throughput, errors,
//! and for a figure with a broker the queue's depth and its consumer's lag; small charts beside
//! the numbers, which are always given as text.

use leptos::prelude::*;

use crate::live::Live;
use crate::metrics::{bars, percent, rate, steps, Percentiles, Summary, SPARK};

/// A sparkline's size, in SVG units.
const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 24.0;

/// The numbers of one figure's run, updated as it plays.
#[component]
pub fn MetricsPanel(
    /// The figure whose run is measured.
    live: Live,
) -> impl IntoView {
    let summary = Memo::new(move |_| {
        live.frame.track();
        live.with_playback(|p| p.metrics().summary(p.now()))
    });
    let heading_id = format!("{}-metrics-{}", live.kind.slug(), live.id);
    let labelled_by = heading_id.clone();

    view! {
        <section class="metrics" aria-labelledby=labelled_by data-test="metrics">
            <h3 id=heading_id>"The run in numbers"</h3>
            <dl>{move || summary.with(rows)}</dl>
        </section>
    }
}

fn rows(s: &Summary) -> impl IntoView {
    let latency = match s.latency {
        Some(l) => {
            let jobs = if l.count == 1 { "1 job".to_string() } else { format!("{} jobs", l.count) };
            (percentiles(&l), format!("{jobs}, from their start at A to A's job done"))
        }
        None => (
            "no jobs finished yet".to_string(),
            "measured from a job's start at A to A's job done".into(),
        ),
    };
    // Behind a broker, the consumer's work is never part of A's job.
    let latency = match s.queue {
        Some(_) => {
            (latency.0, format!("{}; the consumer's work is not in it (see its lag)", latency.1))
        }
        None => latency,
    };
    let p50_ms = s.latency.map(|l| format!("{}", l.p50.as_millis_f64()));
    let latency_bars = (!s.recent.is_empty()).then(|| {
        bars(&s.recent, SPARK, SPARK_W, SPARK_H)
            .into_iter()
            .map(|(x, y, w, h)| view! { <rect x=x y=y width=w height=h /> })
            .collect_view()
    });

    let blocked = match s.blocked_share {
        Some(share) => (
            format!("{} of A's busy time", percent(share)),
            format!("held by calls {} of {}", s.blocked, s.busy),
        ),
        None => {
            ("A has not been busy yet".into(), "the share of A's busy time a call holds it".into())
        }
    };
    let meter = s.blocked_share.map(|share| {
        view! {
            <svg class="spark meter" viewBox=format!("0 0 {SPARK_W} 8") aria-hidden="true">
                <rect class="track" x="0" y="0" width=SPARK_W height="8" rx="4" />
                <rect class="fill" x="0" y="0" width=SPARK_W * share.clamp(0.0, 1.0) height="8" rx="4" />
            </svg>
        }
    });

    let throughput = match (s.done, s.per_s) {
        (0, _) | (_, None) => (
            "no jobs finished yet".to_string(),
            "A's jobs done a second of simulated time".to_string(),
        ),
        (n, Some(r)) => (
            rate(r),
            format!("{n} done in {} of simulated time", s.now - callflow_sim::SimTime::ZERO),
        ),
    };
    let errors = format!("{} failed · {} lost · {} dropped", s.failed, s.lost, s.dropped);

    let queue = s.queue.as_ref().map(|q| {
        let depth = steps(&q.depth, SPARK_W, SPARK_H);
        let lag = match q.lag {
            Some(l) => percentiles(&l),
            None => "no message acked yet".into(),
        };
        let oldest = match q.oldest_waiting {
            Some(d) => format!("from publish to ack; the oldest waiting message was published {d} ago"),
            None => "from publish to ack; no message waits now".into(),
        };
        view! {
            <div class="metric" data-test="metric-queue">
                <dt>"Queue depth"</dt>
                <dd>
                    <span class="value">{format!("{} waiting now · {} at most", q.ready, q.deepest)}</span>
                    <svg class="spark" viewBox=format!("0 0 {SPARK_W} {SPARK_H}") aria-hidden="true">
                        <path class="line" d=depth />
                    </svg>
                </dd>
            </div>
            <div class="metric" data-test="metric-lag">
                <dt>"Consumer lag"</dt>
                <dd>
                    <span class="value">{lag}</span>
                    <span class="note">{oldest}</span>
                </dd>
            </div>
        }
    });

    view! {
        <div class="metric" data-test="metric-latency" data-p50-ms=p50_ms>
            <dt>"A's latency"</dt>
            <dd>
                <span class="value">{latency.0}</span>
                {latency_bars.map(|b| view! {
                    <svg class="spark" viewBox=format!("0 0 {SPARK_W} {SPARK_H}") aria-hidden="true">{b}</svg>
                })}
                <span class="note">{latency.1}</span>
            </dd>
        </div>
        <div class="metric" data-test="metric-blocked">
            <dt>"A blocked"</dt>
            <dd>
                <span class="value">{blocked.0}</span>
                {meter}
                <span class="note">{blocked.1}</span>
            </dd>
        </div>
        <div class="metric" data-test="metric-throughput">
            <dt>"Throughput"</dt>
            <dd>
                <span class="value">{throughput.0}</span>
                <span class="note">{throughput.1}</span>
            </dd>
        </div>
        <div class="metric" data-test="metric-errors">
            <dt>"Errors"</dt>
            <dd>
                <span class="value">{errors}</span>
                <span class="note">"A's failed and lost jobs; messages lost on the way"</span>
            </dd>
        </div>
        {queue}
    }
}

/// Three percentiles in a line.
fn percentiles(l: &Percentiles) -> String {
    format!("p50 {} · p95 {} · p99 {}", l.p50, l.p95, l.p99)
}
