//! One plain sentence for what just happened, from a trace event and the one before it. Most
//! events speak; bookkeeping events (a worker freed, a job started) stay silent.

use callflow_sim::scenario::Role;
use callflow_sim::trace::DropReason;
use callflow_sim::{Event, EventKind, Model, NodeId, Payload, QueueId, Route};

use crate::scene::Scene;

/// The short name of a node: "A" for "Microservice A", "the broker" for a broker.
pub fn short(model: &Model, id: NodeId) -> String {
    let n = model.node(id);
    match n.role {
        Role::Broker(_) => "the broker".into(),
        Role::Log(_) => "the log".into(),
        Role::Service(_) => short_label(&n.label).to_string(),
    }
}

/// A node's name where a sentence has it after "the" or between arrows: "broker", "log", or
/// a service's short name.
pub fn plain_name(model: &Model, id: NodeId) -> String {
    match model.node(id).role {
        Role::Broker(_) => "broker".into(),
        Role::Log(_) => "log".into(),
        Role::Service(_) => short(model, id),
    }
}

/// The last word of a label: "A" for "Microservice A".
pub fn short_label(label: &str) -> &str {
    label.rsplit(' ').next().unwrap_or(label)
}

/// Who consumes the queue: "C", or "C or D" for competing consumers, one of whom gets it.
fn consumer(model: &Model, q: QueueId) -> String {
    let Some(q) = model.queue(q) else { return "the consumer".into() };
    let names: Vec<String> = q.consumers.iter().map(|c| short(model, c.node)).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "the consumer".into(),
    }
}

/// Who gets a message published to `route`: a queue's consumer(s), or those of every queue
/// of an exchange, each with a copy ("C and D").
fn recipients(model: &Model, route: Route) -> String {
    let x = match route {
        Route::Queue(q) => return consumer(model, q),
        Route::Exchange(x) => x,
    };
    let Some(exchange) = model.exchange(x) else { return "its consumers".into() };
    let names: Vec<String> = exchange
        .queues
        .iter()
        .map(|&index| consumer(model, QueueId { broker: x.broker, index }))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "its consumers".into(),
    }
}

/// A server's topic by its index among its topics.
pub fn topic_name(model: &Model, server: NodeId, topic: u16) -> String {
    match &model.node(server).role {
        Role::Service(s) => s.topics.get(topic as usize).cloned().unwrap_or_else(|| "?".into()),
        _ => "?".into(),
    }
}

fn queue_name(model: &Model, q: QueueId) -> String {
    model.queue(q).map_or_else(|| "?".into(), |q| q.name.clone())
}

/// "first try", or "after 3 tries".
fn attempts_text(attempts: u32) -> String {
    if attempts <= 1 {
        "first try".into()
    } else {
        format!("after {attempts} tries")
    }
}

/// A sentence for the narration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// Follows the sentences already said at this instant.
    New(String),
    /// Says the last sentence again, with more: it replaces it.
    Amend(String),
}

/// A sentence for an event that is worth saying only when nothing else happened with it, as
/// when a step ends a worker's job and nothing follows.
pub fn aside(model: &Model, e: &Event) -> Option<String> {
    match e.kind {
        EventKind::WorkDone { node, .. } => {
            Some(format!("{} finished its work.", short(model, node)))
        }
        EventKind::JobDone { node, .. } => {
            Some(format!("{} finished its job and is free.", short(model, node)))
        }
        _ => None,
    }
}

/// The sentence for `e`, if it deserves one; `prev` is the event just before it, and
/// `before` the scene as it was just before `e`.
pub fn narrate(model: &Model, prev: Option<&Event>, e: &Event, before: &Scene) -> Option<Line> {
    let s = |id| short(model, id);
    if let Some(text) = prev.filter(|p| p.at == e.at).and_then(|p| together(model, &p.kind, e)) {
        return Some(Line::Amend(text));
    }
    match e.kind {
        EventKind::Received { msg, node } => {
            if let Some(Payload::Confirm { .. }) = before.wire.get(&msg).map(|t| t.payload) {
                let text =
                    format!("{} got the broker's confirm; it was not waiting for it.", s(node));
                return Some(Line::New(text));
            }
        }
        EventKind::JobQueued { node, waiting, .. } => {
            let text = match before.blocked(node) {
                Some((_, callee)) => format!(
                    "{} is blocked waiting for {}, so the new job waits in its inbox ({waiting} waiting).",
                    s(node),
                    s(callee)
                ),
                None => format!(
                    "{} is busy with its own work, so the new job waits in its inbox ({waiting} waiting).",
                    s(node)
                ),
            };
            return Some(Line::New(text));
        }
        _ => {}
    }
    sentence(model, e, &s).map(Line::New)
}

/// One sentence for `e` and the event before it at the same instant, where the two tell more
/// together: a publish and then the response (the hybrid's point), a publish and then the
/// publisher's own work, a response and then the caller's own work.
fn together(model: &Model, prev: &EventKind, e: &Event) -> Option<String> {
    let s = |id| short(model, id);
    Some(match (prev, &e.kind) {
        (
            EventKind::Sent { from, payload: Payload::Publish { queue }, .. },
            EventKind::Sent { from: f, to, payload: Payload::HttpResponse { .. }, .. },
        ) if from == f => format!(
            "{} published the message for {} to the broker and answered {} without waiting for {}.",
            s(*from),
            consumer(model, *queue),
            s(*to),
            consumer(model, *queue)
        ),
        (
            EventKind::Sent { from, to, payload: Payload::Publish { queue }, .. },
            EventKind::WorkStarted { node, until, .. },
        ) if from == node => format!(
            "{} published a message for {} to {} and, without waiting, goes on with its own work ({}).",
            s(*node),
            consumer(model, *queue),
            s(*to),
            *until - e.at
        ),
        (
            EventKind::Sent { from, payload, .. },
            EventKind::ConfirmAwaited { node, .. },
        ) if from == node => format!(
            "{} published a message to the broker for {} and is now blocked until the broker confirms it.",
            s(*node),
            match payload {
                Payload::Publish { queue } => consumer(model, *queue),
                Payload::PublishTo { route, .. } => recipients(model, *route),
                _ => "its consumer".into(),
            }
        ),
        // The confirm a publisher waited for: its own sentence says more than "received".
        (
            EventKind::Received { node: n, .. },
            EventKind::PublishConfirmed { node, .. }
            | EventKind::OutboxRelayed { node, .. }
            | EventKind::PublishFailed { node, timed_out: false, .. },
        ) if n == node => return sentence(model, e, &s),
        (
            EventKind::OutboxStored { node, .. },
            EventKind::Sent { from, to, payload: Payload::HttpResponse { ok: true, .. }, .. },
        ) if from == node => format!(
            "{} stored its message for the broker in its outbox, in the same transaction as its work, and answered {} at once; its relay will publish it.",
            s(*node),
            s(*to)
        ),
        (EventKind::CallReturned { node: n, waited, .. }, EventKind::WorkStarted { node, until, .. })
            if n == node =>
        {
            format!(
                "{} got its response after waiting {waited} and goes on with its own work ({}).",
                s(*node),
                *until - e.at
            )
        }
        _ => return None,
    })
}

fn sentence(model: &Model, e: &Event, s: &dyn Fn(NodeId) -> String) -> Option<String> {
    Some(match e.kind {
        EventKind::Sent { msg, from, to, payload, arrives, .. } => {
            let trip = arrives - e.at;
            match payload {
                Payload::HttpRequest { attempt: 1, .. } => format!(
                    "{} sent an HTTP request to {} and is now blocked until the response comes back.",
                    s(from),
                    s(to)
                ),
                Payload::HttpRequest { attempt, .. } => format!(
                    "{} sent its HTTP request to {} again (attempt {attempt}) and is blocked once more.",
                    s(from),
                    s(to)
                ),
                Payload::HttpResponse { ok: true, .. } => {
                    format!("{} finished and sent its HTTP response to {}.", s(from), s(to))
                }
                Payload::HttpResponse { ok: false, .. } => {
                    format!("{} answered {} with an error.", s(from), s(to))
                }
                Payload::Publish { queue } => format!(
                    "{} published a message to the broker for {} and carries on without waiting.",
                    s(from),
                    consumer(model, queue)
                ),
                Payload::PublishTo { route, message } if message != msg => format!(
                    "{}'s outbox relay published a stored message for {} to the broker; it publishes it again until the broker confirms it.",
                    s(from),
                    recipients(model, route)
                ),
                Payload::PublishTo { route: Route::Exchange(x), .. } => format!(
                    "{} published a message to the exchange “{}”, which gives a copy to each of its queues, for {}; it carries on without waiting.",
                    s(from),
                    model.exchange(x).map_or("?", |x| x.name.as_str()),
                    recipients(model, Route::Exchange(x))
                ),
                Payload::PublishTo { route, .. } => format!(
                    "{} published a message to the broker for {} and carries on without waiting.",
                    s(from),
                    recipients(model, route)
                ),
                Payload::Confirm { ok: false, .. } => format!(
                    "The broker refused {}'s message: the queue is full. The message is lost unless {} sends it again.",
                    s(to),
                    s(to)
                ),
                Payload::Confirm { .. } => format!(
                    "The broker confirmed to {} that it has the message; a confirm says nothing about any consumer.",
                    s(to)
                ),
                Payload::Deliver { redelivered: true, .. } => format!(
                    "The broker delivered a message to {} again: it had gone out before and was never acked ({trip} on the way).",
                    s(to)
                ),
                Payload::Deliver { .. } => {
                    format!("The broker delivered the oldest waiting message to {} ({trip} on the way).", s(to))
                }
                Payload::Ack { .. } => format!(
                    "{} finished with the message and sent its ack; the broker may now forget it.",
                    s(from)
                ),
                Payload::Produce { key, .. } => format!(
                    "{} appended a record with key {key} to the log and carries on without waiting.",
                    s(from)
                ),
                Payload::Produced { partition, offset, .. } => format!(
                    "The log told {} where the record went: partition {partition}, offset {offset}.",
                    s(to)
                ),
                Payload::Record { partition, offset, redelivered: true, .. } => format!(
                    "The log sent {} partition {partition}'s record {offset} again: it was never committed.",
                    s(to)
                ),
                Payload::Record { partition, offset, .. } => format!(
                    "The log sent {} the next record of partition {partition} (offset {offset}); it sends no more of that partition until this one is committed.",
                    s(to)
                ),
                Payload::Subscribe { topic } => format!(
                    "{} opened a subscription to {}'s “{}” events, on a connection that stays open.",
                    s(from),
                    s(to),
                    topic_name(model, to, topic)
                ),
                Payload::Push { topic } => format!(
                    "{} pushed a “{}” event to {}, unasked; it does not wait for {} to handle it.",
                    s(from),
                    topic_name(model, from, topic),
                    s(to),
                    s(to)
                ),
                Payload::Commit { partition, offset, .. } => format!(
                    "{} committed partition {partition} up to offset {offset}.",
                    s(from)
                ),
                Payload::Nack { .. } => format!(
                    "{}'s job for the message failed, so it sent a nack: the broker should take the message back.",
                    s(from)
                ),
            }
        }
        EventKind::CallReturned { node, waited, ok: true, .. } => {
            format!("{} got its response after waiting {waited} and can move on.", s(node))
        }
        EventKind::CallReturned { node, ok: false, .. } => {
            format!("{} got an error back: this attempt failed.", s(node))
        }
        EventKind::CallTimedOut { node, attempt, .. } => format!(
            "{} gave up waiting (attempt {attempt}); the request may still be served, and its answer will be ignored.",
            s(node)
        ),
        EventKind::CallBackoff { node, attempt, wait, .. } => {
            format!("{} waits {wait} before attempt {attempt}.", s(node))
        }
        EventKind::CallFailed { node, attempts, .. } => {
            format!("{} gave up on its call after {attempts} attempts: its job fails.", s(node))
        }
        EventKind::Replayed { node, stored: true, .. } => format!(
            "{} has seen this request's key: it answers from its store, without doing the work again.",
            s(node)
        ),
        EventKind::Replayed { node, stored: false, .. } => format!(
            "{} is still working on this key's first request, so it refuses the repeat with an error.",
            s(node)
        ),
        EventKind::WorkStarted { node, until, .. } => {
            format!("{} is busy with its own work for {}.", s(node), until - e.at)
        }
        EventKind::Enqueued { queue, .. } => {
            format!("The broker stored the message in “{}”.", queue_name(model, queue))
        }
        EventKind::Acked { queue, .. } => format!(
            "The broker removed the acknowledged message from “{}”.",
            queue_name(model, queue)
        ),
        EventKind::Dropped { node, reason, .. } => match reason {
            DropReason::LinkLoss => "A message was lost on its link and will never arrive.".into(),
            DropReason::Partition => {
                format!("A message for {} was dropped: the two sides are cut off.", s(node))
            }
            DropReason::NodeDown => {
                format!("A message reached {} while it was down, and was dropped.", s(node))
            }
        },
        EventKind::Discarded { node, .. } => {
            format!("{} got a message that nothing there waits for any more, and ignored it.", s(node))
        }
        EventKind::Crashed { node } => match model.node(node).role {
            Role::Broker(_) => "The broker crashed: it keeps its stored messages and takes back what was delivered but not acked.".into(),
            Role::Log(_) => "The log crashed: it keeps its records, and will send again what was not committed.".into(),
            Role::Service(_) => format!("{} crashed: the jobs it was running or holding are lost.", s(node)),
        },
        EventKind::Recovered { node } => match model.node(node).role {
            Role::Broker(_) => "The broker is back up, with the messages it had stored.".into(),
            Role::Log(_) => "The log is back up, with its records; it sends each partition again from its last commit.".into(),
            Role::Service(_) => format!("{} is back up, with nothing in hand.", s(node)),
        },
        EventKind::Requeued { queue, .. } => format!(
            "The broker took back a message that was delivered but never acked: it waits in “{}” again.",
            queue_name(model, queue)
        ),
        EventKind::Overflowed { queue, dropped_oldest: true, .. } => format!(
            "“{}” is full: the broker dropped its oldest waiting message to make room.",
            queue_name(model, queue)
        ),
        EventKind::Overflowed { .. } => return None,
        EventKind::DeadLettered { queue, to, deliveries, .. } => format!(
            "The broker gave up on a message after {deliveries} deliveries without an ack and moved it from “{}” to “{}”.",
            queue_name(model, queue),
            queue_name(model, to)
        ),
        EventKind::Nacked { queue, .. } => format!(
            "The broker got the nack for a message of “{}”: it will deliver it again, or give up on it if it has failed too often.",
            queue_name(model, queue)
        ),
        EventKind::DuplicateSkipped { node, .. } => format!(
            "{} has already processed this message: its id is in {}'s store, so it acks it without doing the work again.",
            s(node),
            s(node)
        ),
        EventKind::ConfirmAwaited { node, .. } => {
            format!("{} waits, blocked, for the broker's confirm.", s(node))
        }
        EventKind::PublishConfirmed { node, waited, .. } => {
            format!("{} got the broker's confirm after waiting {waited} and goes on.", s(node))
        }
        EventKind::PublishFailed { node, job: Some(_), timed_out: true, .. } => format!(
            "{} got no confirm in time: it cannot tell whether the broker has the message, and its job fails, though its work before the publish is done.",
            s(node)
        ),
        EventKind::PublishFailed { node, job: Some(_), .. } => format!(
            "The broker refused {}'s message, so {}'s job fails, though its work before the publish is done.",
            s(node),
            s(node)
        ),
        EventKind::PublishFailed { node, job: None, timed_out: true, .. } => format!(
            "{}'s outbox relay got no confirm in time: the message stays in the outbox and goes out again.",
            s(node)
        ),
        EventKind::PublishFailed { node, .. } => format!(
            "The broker refused {}'s outbox message: it stays in the outbox, and the relay will try again.",
            s(node)
        ),
        EventKind::OutboxStored { node, .. } => format!(
            "{} stored a message for the broker in its outbox, in the same transaction as its work; its relay will publish it.",
            s(node)
        ),
        EventKind::OutboxRelayed { node, attempts, .. } => format!(
            "The broker confirmed {}'s outbox message ({}): {} takes it out of its outbox.",
            s(node),
            attempts_text(attempts),
            s(node)
        ),
        EventKind::Slowed { node, percent: 100 } => {
            format!("{} works at its usual speed again.", s(node))
        }
        EventKind::Slowed { node, percent } => format!(
            "{} is slow now: its work takes {} its usual time.",
            s(node),
            crate::playback::slowness(percent)
        ),
        EventKind::LinkLossChanged { link, per_mille } => {
            let l = model.link(link);
            let end = |n| plain_name(model, n);
            match per_mille {
                0 => format!("The {} ↔ {} link carries everything again.", end(l.a), end(l.b)),
                _ => format!(
                    "The {} ↔ {} link now loses {} of the messages sent on it.",
                    end(l.a),
                    end(l.b),
                    crate::playback::loss_text(per_mille)
                ),
            }
        }
        EventKind::Partitioned { a, b } => {
            format!("{} and {} are cut off from each other.", s(a), s(b))
        }
        EventKind::Healed { a, b } => format!("{} and {} can reach each other again.", s(a), s(b)),
        EventKind::Assigned { partition, consumer: Some(c), .. } => {
            format!("Partition {partition} now belongs to {}, which reads it from its last commit.", s(c))
        }
        EventKind::Unsubscribed { server, subscriber, .. } => format!(
            "{}'s subscription to {} ended with its connection: events meanwhile will not reach it.",
            s(subscriber),
            s(server)
        ),
        EventKind::Notified { node, subscribers: 0, .. } => {
            format!("{} has no subscribers right now: the event goes nowhere.", s(node))
        }
        EventKind::Assigned { partition, consumer: None, .. } => {
            format!("Partition {partition} has no consumer: every member of the group is down.")
        }
        EventKind::Triggered { .. }
        | EventKind::JobLost { .. }
        | EventKind::Arrived { .. }
        | EventKind::Received { .. }
        | EventKind::JobQueued { .. }
        | EventKind::JobStarted { .. }
        | EventKind::WorkDone { .. }
        | EventKind::CallBlocked { .. }
        | EventKind::JobDone { .. }
        | EventKind::Dequeued { .. }
        | EventKind::Appended { .. }
        | EventKind::Subscribed { .. }
        | EventKind::Notified { .. }
        | EventKind::Committed { .. }
        | EventKind::LinkLatencyChanged { .. }
        | EventKind::ProcessingChanged { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callflow_sim::scenario::{Fault, FaultSpec, NodeSpec, PublishMode, Step};
    use callflow_sim::{figures, Sim};

    /// What the narration says of Figure 3 with B's publish in `mode` and the broker down
    /// from 100 ms to 1 s, around B's publish at 310 ms: each sentence as it ends up, amended.
    fn said(mode: PublishMode) -> Vec<String> {
        let mut s = figures::hybrid();
        for n in &mut s.nodes {
            if let NodeSpec::Service(svc) = n {
                for step in &mut svc.on_request {
                    if let Step::Publish { mode: m, .. } = step {
                        *m = mode;
                    }
                }
            }
        }
        let broker = || "broker".to_string();
        s.faults = vec![
            FaultSpec { at_ms: 100.0, fault: Fault::Crash { node: broker() } },
            FaultSpec { at_ms: 1_000.0, fault: Fault::Recover { node: broker() } },
        ];
        let model = s.validate().unwrap();
        let mut sim = Sim::from_model(model.clone(), 10_000);
        sim.trigger(NodeId(0)).unwrap();
        sim.run_until_idle(10_000);
        let (mut scene, mut prev, mut out) = (Scene::new(&model), None::<Event>, Vec::new());
        for e in sim.trace().since(0) {
            match narrate(&model, prev.as_ref(), e, &scene) {
                Some(Line::New(text)) => out.push(text),
                Some(Line::Amend(text)) => {
                    out.pop();
                    out.push(text);
                }
                None => {}
            }
            scene.apply(e);
            prev = Some(e.clone());
        }
        out
    }

    #[test]
    fn each_publish_mode_tells_what_a_learns_and_when() {
        let says = |mode, what: &str| said(mode).iter().any(|t| t.contains(what));

        let forgot = PublishMode::FireAndForget;
        assert!(says(forgot, "answered A without waiting for C"));
        assert!(says(forgot, "reached the broker while it was down"));
        assert!(says(forgot, "The broker is back up"));

        let waits = PublishMode::AwaitConfirm { timeout_ms: 200.0 };
        assert!(says(waits, "is now blocked until the broker confirms it"));
        assert!(says(waits, "got no confirm in time"));
        assert!(says(waits, "B answered A with an error"));
        assert!(!says(waits, "carries on without waiting"), "the amended sentence is gone");

        let outbox = PublishMode::Outbox { retry_ms: 200.0 };
        assert!(says(
            outbox,
            "in its outbox, in the same transaction as its work, and answered A at once"
        ));
        assert!(says(outbox, "relay got no confirm in time"));
        assert!(says(outbox, "The broker confirmed B's outbox message (after 5 tries)"));
        assert!(!says(outbox, "it was not waiting for it"), "B's relay was waiting for it");
    }

    #[test]
    fn competing_consumers_are_one_or_another_and_an_exchange_reaches_each() {
        use callflow_sim::scenario::{ExchangeSpec, LinkSpec, QueueSpec};
        use callflow_sim::{ExchangeId, Protocol};
        let mut s = figures::broker();
        let mut c = s.nodes[2].clone();
        if let NodeSpec::Service(svc) = &mut c {
            svc.id = "c".into();
            svc.label = "Microservice C".into();
        }
        s.nodes.push(c);
        let latency = callflow_sim::LatencySpec::Constant { ms: 40.0 };
        let (a, b) = ("broker".into(), "c".into());
        s.links.push(LinkSpec { a, b, protocol: Protocol::Amqp, latency });
        let NodeSpec::Broker(broker) = &mut s.nodes[1] else { unreachable!() };
        let queue = |name: &str, consumers: &[&str]| QueueSpec {
            name: name.into(),
            consumers: consumers.iter().map(|c| c.to_string()).collect(),
            prefetch: 1,
            ..QueueSpec::default()
        };
        broker.queues =
            vec![queue("orders", &["b"]), queue("extra", &["c"]), queue("shared", &["b", "c"])];
        broker.exchanges = vec![ExchangeSpec {
            name: "all".into(),
            queues: vec!["orders".into(), "extra".into()],
        }];
        let model = s.validate().unwrap();
        let q = |index| QueueId { broker: NodeId(1), index };
        assert_eq!(consumer(&model, q(0)), "B");
        assert_eq!(consumer(&model, q(2)), "B or C");
        let all = Route::Exchange(ExchangeId { broker: NodeId(1), index: 0 });
        assert_eq!(recipients(&model, all), "B and C");
    }
}
