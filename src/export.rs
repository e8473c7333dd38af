//! A run taken out of the page and back in: the trace as Mermaid sequence-diagram text, the
//! trace as JSON with the link that reproduces it, and reading such a JSON file back after
//! checking that the simulator still produces exactly its events. Pure logic, tested natively.

use callflow_sim::scenario::Role;
use callflow_sim::trace::DropReason;
use callflow_sim::{Event, EventKind, NodeId, Payload, Route};
use serde_json::{json, Value};

use crate::options::{self, quote, Options};
use crate::playback::Playback;

/// The `format` field of a trace file.
pub const TRACE_FORMAT: &str = "callflow-trace";
/// 2: deliveries say whether they are redeliveries, requests their attempt and idempotency
/// key, responses whether they are errors; faults and retries have events of their own.
pub const TRACE_VERSION: u64 = 2;

/// A trace file larger than this is refused before it is read.
pub const MAX_TRACE_BYTES: usize = 16 * 1024 * 1024;

/// The run as a Mermaid sequence diagram, in the order things happened: HTTP requests as solid
/// arrows (`->>`) and their responses dotted (`-->>`), with the blocked caller activated in
/// between; everything to or from the broker as asynchronous arrows with an open head (`-)`,
/// `--)`); work and the reader's actions as notes.
pub fn mermaid(p: &Playback) -> String {
    let model = p.sim().model();
    let id = |n: NodeId| model.node(n).id.clone();
    let mut out = String::from("sequenceDiagram\n");
    for n in &model.nodes {
        let name = match n.role {
            Role::Broker(_) => "Broker",
            Role::Log(_) => "Log",
            Role::Service(_) => crate::narration::short_label(&n.label),
        };
        out.push_str(&format!("    participant {} as {}\n", n.id, mermaid_text(name)));
    }
    let trace = p.sim().trace();
    if trace.first_kept() > 0 {
        out.push_str(&format!(
            "    %% the first {} events are no longer kept; this starts at event {}\n",
            trace.first_kept(),
            trace.first_kept()
        ));
    }
    // How deep each node's activation is, so that a response whose request fell out of the
    // kept trace deactivates nothing.
    let mut active = vec![0u32; model.nodes.len()];
    for e in trace.since(0) {
        let at = e.at;
        let line = match &e.kind {
            EventKind::Triggered { node, .. } => {
                format!("Note over {}: {at} the reader's action", id(*node))
            }
            EventKind::Arrived { node, .. } => {
                format!("Note over {}: {at} a job arrives", id(*node))
            }
            EventKind::Sent { msg, from, to, payload, .. } => {
                let (arrow, what) = match payload {
                    Payload::HttpRequest { attempt: 1, .. } => {
                        ("->>", format!("HTTP request m{}", msg.0))
                    }
                    Payload::HttpRequest { attempt, .. } => {
                        ("->>", format!("HTTP request m{} (attempt {attempt})", msg.0))
                    }
                    Payload::HttpResponse { request, ok: true } => {
                        ("-->>", format!("HTTP response to m{}", request.0))
                    }
                    Payload::HttpResponse { request, ok: false } => {
                        ("-->>", format!("HTTP error for m{}", request.0))
                    }
                    Payload::Publish { queue } => {
                        let q = model.queue(*queue).map_or("?", |q| q.name.as_str());
                        ("-)", format!("publish m{} to {}", msg.0, mermaid_text(q)))
                    }
                    Payload::PublishTo { route, message } => {
                        let to = match *route {
                            Route::Queue(q) => model.queue(q).map(|q| q.name.clone()),
                            Route::Exchange(x) => {
                                model.exchange(x).map(|x| format!("exchange {}", x.name))
                            }
                        };
                        let to = mermaid_text(to.as_deref().unwrap_or("?"));
                        // A message sent again keeps its id; the envelope's names the confirm.
                        let again =
                            if message == msg { String::new() } else { format!(", as m{}", msg.0) };
                        ("-)", format!("publish m{} to {to}{again}", message.0))
                    }
                    Payload::Confirm { publish, ok: true } => {
                        ("--)", format!("confirm m{}", publish.0))
                    }
                    Payload::Confirm { publish, ok: false } => {
                        ("--)", format!("refused m{}, queue full", publish.0))
                    }
                    Payload::Deliver { message, .. } => ("-)", format!("deliver m{}", message.0)),
                    Payload::Ack { message, .. } => ("--)", format!("ack m{}", message.0)),
                    Payload::Produce { key, .. } => {
                        ("-)", format!("record m{} with key {key}", msg.0))
                    }
                    Payload::Produced { record, partition, offset } => {
                        ("--)", format!("m{} at partition {partition}, offset {offset}", record.0))
                    }
                    Payload::Record { partition, offset, redelivered, .. } => {
                        let again = if *redelivered { " again" } else { "" };
                        ("-)", format!("record p{partition}@{offset}{again}"))
                    }
                    Payload::Commit { partition, offset, .. } => {
                        ("--)", format!("commit p{partition}@{offset}"))
                    }
                    Payload::Subscribe { topic } => (
                        "-)",
                        format!(
                            "subscribe to {}",
                            mermaid_text(&crate::narration::topic_name(model, *to, *topic))
                        ),
                    ),
                    Payload::Push { topic } => (
                        "-)",
                        format!(
                            "push {}",
                            mermaid_text(&crate::narration::topic_name(model, *from, *topic))
                        ),
                    ),
                    Payload::Nack { message, .. } => ("--)", format!("nack m{}", message.0)),
                };
                format!("{}{arrow}{}: {at} {what}", id(*from), id(*to))
            }
            EventKind::CallBlocked { node, .. } => {
                active[node.0 as usize] += 1;
                format!("activate {}", id(*node))
            }
            EventKind::CallReturned { node, waited, .. } => {
                let depth = &mut active[node.0 as usize];
                if *depth == 0 {
                    continue;
                }
                *depth -= 1;
                format!("Note over {0}: {at} waited {waited}\n    deactivate {0}", id(*node))
            }
            EventKind::WorkStarted { node, until, .. } => {
                format!("Note over {}: {at} works until {until}", id(*node))
            }
            EventKind::WorkDone { node, .. } => format!("Note over {}: {at} work done", id(*node)),
            EventKind::CallTimedOut { node, attempt, .. } => {
                let depth = &mut active[node.0 as usize];
                let mut text =
                    format!("Note over {}: {at} timed out (attempt {attempt})", id(*node));
                if *depth > 0 {
                    *depth -= 1;
                    text.push_str(&format!("\n    deactivate {}", id(*node)));
                }
                text
            }
            EventKind::CallBackoff { node, attempt, wait, .. } => {
                format!("Note over {}: {at} waits {wait} before attempt {attempt}", id(*node))
            }
            EventKind::CallFailed { node, attempts, .. } => {
                format!("Note over {}: {at} call failed after {attempts} attempts", id(*node))
            }
            EventKind::Replayed { node, stored, .. } => {
                let what =
                    if *stored { "answered from its store" } else { "refused, key in progress" };
                format!("Note over {}: {at} {what}", id(*node))
            }
            EventKind::Dropped { msg, node, reason } => {
                let why = match reason {
                    DropReason::LinkLoss => "lost on the link",
                    DropReason::Partition => "cut off by a partition",
                    DropReason::NodeDown => "its destination is down",
                };
                format!("Note over {}: {at} m{} dropped, {why}", id(*node), msg.0)
            }
            EventKind::Discarded { msg, node } => {
                format!("Note over {}: {at} m{} ignored, nothing waits for it", id(*node), msg.0)
            }
            EventKind::Crashed { node } => {
                // A crashed caller is blocked no more.
                let depth = std::mem::take(&mut active[node.0 as usize]);
                let mut text = format!("Note over {}: {at} crashed", id(*node));
                for _ in 0..depth {
                    text.push_str(&format!("\n    deactivate {}", id(*node)));
                }
                text
            }
            EventKind::Recovered { node } => format!("Note over {}: {at} back up", id(*node)),
            EventKind::Requeued { message, queue, .. } => {
                let q = model.queue(*queue).map_or("?", |q| q.name.as_str());
                format!(
                    "Note over {}: {at} m{} back in {}",
                    id(queue.broker),
                    message.0,
                    mermaid_text(q)
                )
            }
            EventKind::Overflowed { queue, message, dropped_oldest } => {
                let what = if *dropped_oldest { "dropped, the oldest" } else { "refused" };
                format!("Note over {}: {at} m{} {what}, queue full", id(queue.broker), message.0)
            }
            EventKind::DeadLettered { queue, message, to, deliveries } => {
                let q = model.queue(*to).map_or("?", |q| q.name.as_str());
                format!(
                    "Note over {}: {at} m{} to {} after {deliveries} deliveries",
                    id(queue.broker),
                    message.0,
                    mermaid_text(q)
                )
            }
            EventKind::Nacked { queue, message, .. } => {
                format!(
                    "Note over {}: {at} m{} nacked, the job failed",
                    id(queue.broker),
                    message.0
                )
            }
            EventKind::DuplicateSkipped { node, message, .. } => {
                format!(
                    "Note over {}: {at} m{} seen before, acked without work",
                    id(*node),
                    message.0
                )
            }
            EventKind::ConfirmAwaited { node, publish, .. } => {
                active[node.0 as usize] += 1;
                format!(
                    "Note over {0}: {at} waits for the confirm of m{1}\n    activate {0}",
                    id(*node),
                    publish.0
                )
            }
            EventKind::PublishConfirmed { node, waited, .. } => {
                let depth = &mut active[node.0 as usize];
                if *depth == 0 {
                    continue;
                }
                *depth -= 1;
                format!(
                    "Note over {0}: {at} confirmed after {waited}\n    deactivate {0}",
                    id(*node)
                )
            }
            EventKind::PublishFailed { node, job, message, timed_out, .. } => {
                let why = if *timed_out { "no confirm in time" } else { "refused" };
                let then = if job.is_some() { "the job fails" } else { "stays in the outbox" };
                let mut text =
                    format!("Note over {}: {at} m{} {why}, {then}", id(*node), message.0);
                let depth = &mut active[node.0 as usize];
                if job.is_some() && *depth > 0 {
                    *depth -= 1;
                    text.push_str(&format!("\n    deactivate {}", id(*node)));
                }
                text
            }
            EventKind::OutboxStored { node, message, .. } => {
                format!("Note over {}: {at} m{} stored in the outbox", id(*node), message.0)
            }
            EventKind::OutboxRelayed { node, message, attempts } => format!(
                "Note over {}: {at} m{} confirmed after {attempts} tries, out of the outbox",
                id(*node),
                message.0
            ),
            EventKind::Slowed { node, percent } => {
                format!("Note over {}: {at} work at {percent} percent of its time", id(*node))
            }
            EventKind::Appended { topic, partition, offset, record, key } => format!(
                "Note over {}: {at} m{} (key {key}) appended at p{partition}@{offset}",
                id(topic.log),
                record.0
            ),
            EventKind::Committed { .. } | EventKind::Notified { .. } => continue,
            EventKind::Subscribed { server, subscriber, topic } => format!(
                "Note over {},{}: {at} subscribed to {}",
                id(*subscriber),
                id(*server),
                mermaid_text(&crate::narration::topic_name(model, *server, *topic))
            ),
            EventKind::Unsubscribed { server, subscriber, topic } => format!(
                "Note over {},{}: {at} subscription to {} ended",
                id(*subscriber),
                id(*server),
                mermaid_text(&crate::narration::topic_name(model, *server, *topic))
            ),
            EventKind::Assigned { topic, partition, consumer } => {
                let to = consumer.map_or_else(|| "nobody".to_string(), id);
                format!("Note over {}: {at} partition {partition} to {to}", id(topic.log))
            }
            EventKind::LinkLossChanged { link, per_mille } => {
                let l = model.link(*link);
                format!(
                    "Note over {},{}: {at} the link loses {per_mille} in 1000",
                    id(l.a),
                    id(l.b)
                )
            }
            EventKind::Partitioned { a, b } => {
                format!("Note over {},{}: {at} cut off", id(*a), id(*b))
            }
            EventKind::Healed { a, b } => format!("Note over {},{}: {at} healed", id(*a), id(*b)),
            EventKind::JobQueued { node, waiting, .. } => {
                format!("Note over {}: {at} {waiting} in the inbox", id(*node))
            }
            EventKind::LinkLatencyChanged { link } => {
                let l = model.link(*link);
                format!("Note over {},{}: {at} latency changed", id(l.a), id(l.b))
            }
            EventKind::ProcessingChanged { node } => {
                format!("Note over {}: {at} processing time changed", id(*node))
            }
            EventKind::Received { .. }
            | EventKind::JobStarted { .. }
            | EventKind::JobLost { .. }
            | EventKind::JobDone { .. }
            | EventKind::Enqueued { .. }
            | EventKind::Dequeued { .. }
            | EventKind::Acked { .. } => continue,
        };
        out.push_str("    ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Text that Mermaid reads as text: no statement separators, comments or entity marks.
fn mermaid_text(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, ';' | '#' | '%' | ':' | '\n' | '\r') { ' ' } else { c })
        .collect()
}

/// The run as JSON: the link that reproduces it, the nodes' names, and its kept events.
pub fn trace_json(p: &Playback) -> String {
    let model = p.sim().model();
    let file = json!({
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "run": options::write(p),
        "nodes": model.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        "first_seq": p.sim().trace().first_kept(),
        "events": events(p),
    });
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

fn events(p: &Playback) -> Vec<Value> {
    p.sim()
        .trace()
        .since(0)
        .map(|e: &Event| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect()
}

/// Reads a trace file: its run, checked against the simulator. The simulator runs the file's
/// link again and must produce exactly the file's events; the error says the first that
/// differs, or what else is wrong with the file.
pub fn read_trace(text: &str) -> Result<Options, String> {
    if text.len() > MAX_TRACE_BYTES {
        return Err(format!(
            "The file is {} MB; a trace file may have at most {} MB.",
            text.len() / (1024 * 1024),
            MAX_TRACE_BYTES / (1024 * 1024)
        ));
    }
    let file: Value =
        serde_json::from_str(text).map_err(|e| format!("The file is not JSON: {e}."))?;
    if file.get("format").and_then(Value::as_str) != Some(TRACE_FORMAT) {
        return Err(format!(
            "The file is JSON, but not a callflow trace: it has no \"format\": \"{TRACE_FORMAT}\"."
        ));
    }
    match file.get("version").and_then(Value::as_u64) {
        Some(TRACE_VERSION) => {}
        v => {
            return Err(format!(
                "The trace is of version {}; this page reads version {TRACE_VERSION}.",
                v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
            ))
        }
    }
    let run = file.get("run").and_then(Value::as_str).ok_or("The trace has no \"run\" text.")?;
    let (o, problems) = options::read(None, &split_query(run));
    if let Some(first) = problems.first() {
        return Err(format!("The trace's run has a problem: {first}"));
    }
    let o = o.ok_or("The trace's run names no figure.")?;
    let Some(Value::Array(theirs)) = file.get("events") else {
        return Err("The trace has no \"events\" list.".into());
    };

    let (p, problem) = o.playback();
    if let Some(problem) = problem {
        return Err(format!("The trace's run could not be replayed: {problem}"));
    }
    let first = p.sim().trace().first_kept();
    if file.get("first_seq").and_then(Value::as_u64) != Some(first) {
        return Err(format!("The trace's events should start at event {first}."));
    }
    let ours = events(&p);
    if let Some(i) = (0..ours.len().max(theirs.len())).find(|&i| ours.get(i) != theirs.get(i)) {
        let seq = first + i as u64;
        return Err(match (theirs.get(i), ours.get(i)) {
            (Some(Value::Object(t)), Some(Value::Object(o))) => {
                // Name the first field that differs, with both values.
                let key = o.keys().chain(t.keys()).find(|k| o.get(*k) != t.get(*k));
                let shown = |v: Option<&Value>| {
                    v.map_or_else(|| "missing".into(), |v| quote(&v.to_string()))
                };
                match key {
                    Some(k) => format!(
                        "Event {seq} of the file has \"{}\": {}, but the simulator gives {}: the file does not match its run.",
                        quote(k),
                        shown(t.get(k)),
                        shown(o.get(k))
                    ),
                    None => format!("Event {seq} of the file does not match its run."),
                }
            }
            (None, Some(_)) => format!(
                "The file ends before event {seq}, but the simulator gives more: the file does not match its run."
            ),
            (Some(_), None) => format!(
                "The file goes on at event {seq}, where the simulator's run has ended: the file does not match its run."
            ),
            _ => format!("Event {seq} of the file is not an event."),
        });
    }
    Ok(o)
}

/// A query string as `(key, value)` pairs, `+` and `%xx` decoded.
pub fn split_query(q: &str) -> Vec<(String, String)> {
    q.trim_start_matches('?')
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::FigureKind;
    use crate::playback::Target;

    /// Figure 3 with C slow, run until everything is done.
    fn slow_c() -> Playback {
        let mut p = Playback::new(FigureKind::Hybrid);
        let c = p.sim().model().node_named("c").unwrap();
        p.change(Target::Processing(c), 5000.0).unwrap();
        p.act();
        p.set_playing(true);
        p.set_speed(10.0).unwrap();
        for _ in 0..100 {
            p.tick(100.0);
        }
        p
    }

    #[test]
    fn mermaid_shows_the_reply_to_a_before_c_is_done() {
        let text = mermaid(&slow_c());
        assert!(text.starts_with("sequenceDiagram\n    participant a as A\n"), "{text}");
        let line = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
        };
        let reply = line("b-->>a:");
        let lines: Vec<&str> = text.lines().collect();
        let c_done = lines
            .iter()
            .rposition(|l| l.contains("Note over c:") && l.ends_with("work done"))
            .unwrap();
        assert!(reply < c_done, "{text}");
        assert!(line("a->>b:") < line("activate a") && line("activate a") < line("deactivate a"));
        assert!(line("b-)broker:") < reply, "B publishes before it answers A");
        assert!(line("broker-)c:") > 0 && line("c--)broker:") > c_done);
        assert!(!text.contains(';') && !text.contains('#'), "{text}");
    }

    /// Figure 3 with B's publish in `mode` and the broker down from 100 ms to 1 s, around
    /// B's publish, run until everything is done.
    fn broker_down(mode: callflow_sim::scenario::PublishMode) -> Playback {
        use callflow_sim::scenario::{Fault, FaultSpec, NodeSpec, Step};
        let mut s = callflow_sim::figures::hybrid();
        for n in &mut s.nodes {
            if let NodeSpec::Service(svc) = n {
                for step in &mut svc.on_request {
                    if let Step::Publish { mode: m, .. } = step {
                        *m = mode;
                    }
                }
            }
        }
        s.faults = vec![
            FaultSpec { at_ms: 100.0, fault: Fault::Crash { node: "broker".into() } },
            FaultSpec { at_ms: 1_000.0, fault: Fault::Recover { node: "broker".into() } },
        ];
        let mut p = Playback::from_model(FigureKind::Hybrid, s.validate().unwrap());
        p.act();
        p.set_playing(true);
        p.set_speed(10.0).unwrap();
        for _ in 0..100 {
            p.tick(100.0);
        }
        p
    }

    #[test]
    fn mermaid_notes_what_each_publish_mode_did() {
        use callflow_sim::scenario::PublishMode;
        let waited = mermaid(&broker_down(PublishMode::AwaitConfirm { timeout_ms: 200.0 }));
        assert!(waited.contains("Note over b: 310 ms waits for the confirm of m"), "{waited}");
        assert!(waited.contains("no confirm in time, the job fails"), "{waited}");
        assert!(waited.contains("HTTP error for m"), "{waited}");
        let count = |text: &str, what: &str| text.lines().filter(|l| l.trim() == what).count();
        assert_eq!(count(&waited, "activate b"), 1);
        assert_eq!(count(&waited, "deactivate b"), 1, "B's wait ends with its failure");

        let outbox = mermaid(&broker_down(PublishMode::Outbox { retry_ms: 200.0 }));
        assert!(outbox.contains("stored in the outbox"), "{outbox}");
        assert!(outbox.contains("b-)broker: 1.110 s publish m1 to events, as m7"), "{outbox}");
        assert!(outbox.contains("broker--)b: 1.150 s confirm m7"), "{outbox}");
        assert!(outbox.contains("no confirm in time, stays in the outbox"), "{outbox}");
        assert!(outbox.contains("confirmed after 5 tries, out of the outbox"), "{outbox}");
        assert!(!outbox.contains(';') && !outbox.contains('#'), "{outbox}");
    }

    #[test]
    fn a_trace_file_reads_back_and_replays() {
        let p = slow_c();
        let json = trace_json(&p);
        let o = read_trace(&json).unwrap();
        assert_eq!(o.kind, FigureKind::Hybrid);
        let (q, _) = o.playback();
        assert_eq!(trace_json(&q), json);
    }

    #[test]
    fn a_bad_trace_file_says_what_is_wrong() {
        let json = trace_json(&slow_c());
        let err = |text: &str| read_trace(text).unwrap_err();
        assert!(err("").contains("not JSON"));
        assert!(err("{\"a\": [1, 2").contains("not JSON"));
        assert!(err("[]").contains("not a callflow trace"));
        assert!(err(&json.replace("\"version\": 2", "\"version\": 7")).contains("version 7"));
        assert!(err(&json.replace("figure=hybrid", "figure=<b>")).contains("figure"));
        let edited = json.replacen("\"at\": 0", "\"at\": 1", 1);
        assert_ne!(edited, json);
        assert!(err(&edited).contains("Event 0 of the file"), "{}", err(&edited));
        let cut = {
            let v: Value = serde_json::from_str(&json).unwrap();
            let mut v = v;
            v["events"].as_array_mut().unwrap().pop();
            v.to_string()
        };
        assert!(err(&cut).contains("but the simulator gives"), "{}", err(&cut));
        assert!(err(&"x".repeat(MAX_TRACE_BYTES + 1)).contains("at most 16 MB"));
    }

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            split_query("?a=1&caption=two+words%21&empty&bad=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("caption".into(), "two words!".into()),
                ("empty".into(), String::new()),
                ("bad".into(), "%zz".into())
            ]
        );
    }
}
