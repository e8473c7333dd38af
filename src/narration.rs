//! One plain sentence for what just happened, from a trace event and the one before it. Most
//! events speak; bookkeeping events (a worker freed, a job started) stay silent.

use callflow_sim::scenario::Role;
use callflow_sim::{Event, EventKind, Model, NodeId, Payload, QueueId};

/// The short name of a node: "A" for "Microservice A", "the broker" for a broker.
pub fn short(model: &Model, id: NodeId) -> String {
    let n = model.node(id);
    match n.role {
        Role::Broker(_) => "the broker".into(),
        Role::Service(_) => short_label(&n.label).to_string(),
    }
}

/// The last word of a label: "A" for "Microservice A".
pub fn short_label(label: &str) -> &str {
    label.rsplit(' ').next().unwrap_or(label)
}

fn consumer(model: &Model, q: QueueId) -> String {
    model.queue(q).map_or_else(|| "the consumer".into(), |q| short(model, q.consumer))
}

fn queue_name(model: &Model, q: QueueId) -> String {
    model.queue(q).map_or_else(|| "?".into(), |q| q.name.clone())
}

/// The sentence for `e`, if it deserves one; `prev` is the event just before it.
pub fn narrate(model: &Model, prev: Option<&Event>, e: &Event) -> Option<String> {
    let s = |id| short(model, id);
    Some(match e.kind {
        EventKind::Sent { from, to, payload, arrives, .. } => {
            let trip = arrives - e.at;
            match payload {
                Payload::HttpRequest => format!(
                    "{} sent an HTTP request to {} and is now blocked until the response comes back.",
                    s(from),
                    s(to)
                ),
                Payload::HttpResponse { .. } => {
                    let published_just_now = prev.is_some_and(|p| {
                        p.at == e.at
                            && matches!(p.kind, EventKind::Sent { from: f, payload: Payload::Publish { .. }, .. } if f == from)
                    });
                    let queue = prev.and_then(|p| match p.kind {
                        EventKind::Sent { payload: Payload::Publish { queue }, .. } => Some(queue),
                        _ => None,
                    });
                    match (published_just_now, queue) {
                        (true, Some(q)) => format!(
                            "{} published the message for {} to the broker and answered {} without waiting for {}.",
                            s(from),
                            consumer(model, q),
                            s(to),
                            consumer(model, q)
                        ),
                        _ => format!("{} finished and sent its HTTP response to {}.", s(from), s(to)),
                    }
                }
                Payload::Publish { queue } => format!(
                    "{} published a message to the broker for {} and carries on without waiting.",
                    s(from),
                    consumer(model, queue)
                ),
                Payload::Confirm { .. } => format!(
                    "The broker confirmed to {} that it stored the message. That is all a confirm means: no consumer has it yet.",
                    s(to)
                ),
                Payload::Deliver { .. } => {
                    format!("The broker delivered the oldest waiting message to {} ({trip} on the way).", s(to))
                }
                Payload::Ack { .. } => format!(
                    "{} finished with the message and sent its ack; the broker may now forget it.",
                    s(from)
                ),
            }
        }
        EventKind::CallReturned { node, waited, .. } => {
            format!("{} got its response after waiting {waited} and can move on.", s(node))
        }
        EventKind::WorkStarted { node, until, .. } => {
            format!("{} is busy with its own work for {}.", s(node), until - e.at)
        }
        EventKind::JobQueued { node, waiting, .. } => format!(
            "{} is busy, so the new job waits in its inbox ({waiting} waiting).",
            s(node)
        ),
        EventKind::Enqueued { queue, ready, .. } => format!(
            "The broker stored the message in queue “{}”: {ready} waiting.",
            queue_name(model, queue)
        ),
        EventKind::Acked { queue, .. } => format!(
            "The broker removed the acknowledged message from “{}”.",
            queue_name(model, queue)
        ),
        EventKind::Triggered { .. }
        | EventKind::Received { .. }
        | EventKind::JobStarted { .. }
        | EventKind::WorkDone { .. }
        | EventKind::CallBlocked { .. }
        | EventKind::JobDone { .. }
        | EventKind::Dequeued { .. }
        | EventKind::LinkLatencyChanged { .. }
        | EventKind::ProcessingChanged { .. } => return None,
    })
}
