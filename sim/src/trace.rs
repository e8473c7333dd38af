//! The trace: every happening in a run as a typed event, in the order the engine applied them.
//! It is the one interface between the simulator and what draws it; the app, the metrics and
//! the tests read it, and nothing else of the engine's insides.

use std::collections::VecDeque;

use serde::Serialize;

use crate::scenario::{LinkId, NodeId, QueueId, Route, TopicId};
use crate::time::{SimDuration, SimTime};

/// One message on the wire (a request, a response, a publish, a delivery, ...). Every envelope
/// has its own id; the ids inside [`Payload`] tie it to what caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MsgId(pub u64);

/// A unit of work a service takes on: a reader's trigger, a request, a delivered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct JobId(pub u64);

/// What an envelope carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Attempt `attempt` (1 for the first) of a call; `key` is the idempotency key, the id of
    /// the call's first request, when the client sends one.
    HttpRequest { attempt: u32, key: Option<MsgId> },
    /// The answer to the request with this id: `ok`, or an error (the server's job failed, or
    /// it refused a key whose first request is still running).
    HttpResponse { request: MsgId, ok: bool },
    /// A message handed to a broker queue; its envelope id is the message's id from here on.
    Publish { queue: QueueId },
    /// The broker's word that it has stored the publish with this id (`ok`), or that it
    /// refused it, its queue being full. It says nothing of any consumer.
    Confirm { publish: MsgId, ok: bool },
    /// The broker hands the message (the id of its publish) to the queue's consumer;
    /// `redelivered` when it had handed it out before without an ack.
    Deliver { queue: QueueId, message: MsgId, tag: u64, redelivered: bool },
    /// The consumer is done with the delivery `tag`; the broker may forget the message.
    Ack { queue: QueueId, message: MsgId, tag: u64 },
    /// A record for a log's topic, with its key; its envelope id is the record's id from here on.
    Produce { topic: TopicId, key: u32 },
    /// The log's word that it appended the record with this id, and where.
    Produced { record: MsgId, partition: u32, offset: u64 },
    /// The log hands a partition's record, the one at `offset`, to the member that owns the
    /// partition; `redelivered` when it had gone out before and was not committed. Its id and
    /// key are in the `Appended` event of that place (kept out of here so that every envelope
    /// stays small: each one is copied into the trace).
    Record { topic: TopicId, partition: u32, offset: u64, redelivered: bool },
    /// The member is done with the record at `offset`: the partition's next may go out.
    Commit { topic: TopicId, partition: u32, offset: u64 },
    /// A client opens a subscription to the server's topic (its index among the server's
    /// topics), on a connection that stays open.
    Subscribe { topic: u16 },
    /// The server pushes an event of the topic to a subscriber, unasked.
    Push { topic: u16 },
    /// The consumer's job for the delivery `tag` failed: the broker should take the message
    /// back, to deliver it again or to dead-letter it.
    Nack { queue: QueueId, message: MsgId, tag: u64 },
    /// A message handed to a broker for `route` (a queue, or an exchange that gives each of
    /// its queues a copy), under its own id `message`, which a publisher keeps when it sends
    /// the same message again.
    PublishTo { route: Route, message: MsgId },
}

/// Why an envelope never reached its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link lost it, as a lossy link loses a share of what it carries.
    LinkLoss,
    /// The two ends are cut off from each other.
    Partition,
    /// Its destination was down when it arrived: nothing took it.
    NodeDown,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The reader started a job on a service.
    Triggered {
        node: NodeId,
        job: JobId,
    },
    /// A job of the workload with this index arrived at a service.
    Arrived {
        node: NodeId,
        job: JobId,
        workload: u16,
    },
    /// An envelope left `from` on `link` and will reach `to` at `arrives`.
    Sent {
        msg: MsgId,
        from: NodeId,
        to: NodeId,
        link: LinkId,
        payload: Payload,
        arrives: SimTime,
    },
    /// The envelope reached its destination.
    Received {
        msg: MsgId,
        node: NodeId,
    },
    /// The envelope did not reach `node`, for `reason`: it is gone, and nobody is told.
    Dropped {
        msg: MsgId,
        node: NodeId,
        reason: DropReason,
    },
    /// The envelope arrived, but nothing there expects it any more (a response for a call no
    /// worker waits on, an ack for a delivery the broker took back): it changes nothing.
    Discarded {
        msg: MsgId,
        node: NodeId,
    },
    /// Every worker was busy, so the job waits in the inbox (`waiting` jobs, this one included).
    JobQueued {
        node: NodeId,
        job: JobId,
        waiting: u32,
    },
    /// A worker took the job.
    JobStarted {
        node: NodeId,
        worker: u32,
        job: JobId,
    },
    /// The worker is busy with the job's own work until `until`.
    WorkStarted {
        node: NodeId,
        worker: u32,
        job: JobId,
        until: SimTime,
    },
    WorkDone {
        node: NodeId,
        worker: u32,
        job: JobId,
    },
    /// The worker sent the request and is blocked until the response arrives.
    CallBlocked {
        node: NodeId,
        worker: u32,
        job: JobId,
        request: MsgId,
    },
    /// The response arrived; the worker was blocked for `waited` since the call began (all
    /// its attempts). `ok` false: an error response, a failed attempt.
    CallReturned {
        node: NodeId,
        worker: u32,
        job: JobId,
        request: MsgId,
        waited: SimDuration,
        ok: bool,
    },
    /// The worker finished the job; its response or ack, if any, is on its way. `failed`:
    /// a call of the job failed, so it stopped there, and a request's response is an error.
    JobDone {
        node: NodeId,
        worker: u32,
        job: JobId,
        failed: bool,
    },
    /// The worker gave up waiting for the response to `request`, its `attempt`th.
    CallTimedOut {
        node: NodeId,
        worker: u32,
        job: JobId,
        request: MsgId,
        attempt: u32,
    },
    /// The worker waits `wait` (backoff, with its jitter) before attempt `attempt`.
    CallBackoff {
        node: NodeId,
        worker: u32,
        job: JobId,
        attempt: u32,
        wait: SimDuration,
    },
    /// The call failed for good: every attempt timed out or was answered with an error.
    CallFailed {
        node: NodeId,
        worker: u32,
        job: JobId,
        attempts: u32,
    },
    /// A request with a key the service has seen: answered with the stored result (`ok`), or
    /// refused because the key's first request is still running, without running the job.
    Replayed {
        node: NodeId,
        request: MsgId,
        key: MsgId,
        stored: bool,
    },
    /// The broker stored a published message; `ready` messages now wait in the queue.
    Enqueued {
        queue: QueueId,
        message: MsgId,
        ready: u32,
    },
    /// The broker took the message off the ready list to deliver it.
    Dequeued {
        queue: QueueId,
        message: MsgId,
        tag: u64,
        ready: u32,
    },
    /// The consumer's ack reached the broker, which forgot the message.
    Acked {
        queue: QueueId,
        message: MsgId,
        tag: u64,
    },
    /// The node stopped: a service loses its running and waiting jobs, a broker hands out
    /// nothing; until it recovers, whatever arrives there is dropped.
    Crashed {
        node: NodeId,
    },
    Recovered {
        node: NodeId,
    },
    /// A job that will never finish: it was running or waiting when its service crashed, or it
    /// arrived at a service that was down.
    JobLost {
        node: NodeId,
        job: JobId,
    },
    /// The broker took back a message it had delivered and that was not acked (its consumer
    /// crashed or nacked it, or the broker restarted); it waits at the front of the queue
    /// again.
    Requeued {
        queue: QueueId,
        message: MsgId,
        tag: u64,
    },
    /// A full queue lost `message`: the new one it refused, or the oldest it dropped to make
    /// room for the new one.
    Overflowed {
        queue: QueueId,
        message: MsgId,
        dropped_oldest: bool,
    },
    /// After `deliveries` deliveries without an ack, the broker moved the message to the
    /// dead-letter queue `to` instead of delivering it again.
    DeadLettered {
        queue: QueueId,
        message: MsgId,
        to: QueueId,
        deliveries: u32,
    },
    /// Work on the node now takes `percent` percent of its processing time (100: as set).
    Slowed {
        node: NodeId,
        percent: u32,
    },
    /// The link now loses `per_mille` of every thousand envelopes sent on it from now on.
    LinkLossChanged {
        link: LinkId,
        per_mille: u16,
    },
    /// Envelopes between `a` and `b` are dropped on arrival until they are healed.
    Partitioned {
        a: NodeId,
        b: NodeId,
    },
    Healed {
        a: NodeId,
        b: NodeId,
    },
    /// The log appended the record at `offset` of the topic's `partition`.
    Appended {
        topic: TopicId,
        partition: u32,
        offset: u64,
        record: MsgId,
        key: u32,
    },
    /// The partition's owner committed the record at `offset`.
    Committed {
        topic: TopicId,
        partition: u32,
        offset: u64,
    },
    /// The partition now belongs to `consumer` (none: every member is down), which reads it
    /// from its last commit.
    Assigned {
        topic: TopicId,
        partition: u32,
        consumer: Option<NodeId>,
    },
    /// The server now pushes `topic`'s events to `subscriber`.
    Subscribed {
        server: NodeId,
        subscriber: NodeId,
        topic: u16,
    },
    /// The subscription ended: one end of its connection crashed. Events in between are
    /// not pushed, nor replayed later.
    Unsubscribed {
        server: NodeId,
        subscriber: NodeId,
        topic: u16,
    },
    /// A `notify` step: the server pushed an event of `topic` to `subscribers` subscribers.
    Notified {
        node: NodeId,
        topic: u16,
        subscribers: u32,
    },
    /// A setting changed; it applies to what starts after now.
    LinkLatencyChanged {
        link: LinkId,
    },
    ProcessingChanged {
        node: NodeId,
    },
    /// The consumer's nack reached the broker: the job for delivery `tag` failed. A
    /// `Requeued` or a `DeadLettered` event follows.
    Nacked {
        queue: QueueId,
        message: MsgId,
        tag: u64,
    },
    /// An idempotent consumer's worker took a delivery of a message whose job already ended
    /// well there: it acks it without running its steps.
    DuplicateSkipped {
        node: NodeId,
        worker: u32,
        job: JobId,
        message: MsgId,
    },
    /// The worker published with `publish` and is blocked until the broker confirms it.
    ConfirmAwaited {
        node: NodeId,
        worker: u32,
        job: JobId,
        publish: MsgId,
    },
    /// The broker's positive confirm freed the worker after `waited`; the job goes on.
    PublishConfirmed {
        node: NodeId,
        worker: u32,
        job: JobId,
        publish: MsgId,
        waited: SimDuration,
    },
    /// The publish `publish` of `message` failed: the broker refused it (a negative
    /// confirm), or no confirm came in time (`timed_out`), so the publisher cannot tell
    /// whether the broker has it. With a `job`, a worker waited for the confirm, and the job
    /// fails; without, it was the outbox relay's, which will publish the message again.
    PublishFailed {
        node: NodeId,
        job: Option<JobId>,
        publish: MsgId,
        message: MsgId,
        timed_out: bool,
    },
    /// The job ended well and its message for the broker, `message`, is now in the
    /// service's durable outbox, stored with the job's work.
    OutboxStored {
        node: NodeId,
        job: JobId,
        message: MsgId,
    },
    /// The broker confirmed the outbox message `message`, published `attempts` times: the
    /// relay removes it from the outbox.
    OutboxRelayed {
        node: NodeId,
        message: MsgId,
        attempts: u32,
    },
}

/// An event with its time and its place in the whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// 0 for the run's first event, counting up without gaps.
    pub seq: u64,
    pub at: SimTime,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The newest events of a run, at most `capacity` of them, so that a long run stays bounded.
#[derive(Clone, Debug)]
pub struct Trace {
    events: VecDeque<Event>,
    capacity: usize,
    next_seq: u64,
}

impl Trace {
    pub fn new(capacity: usize) -> Trace {
        Trace { events: VecDeque::new(), capacity: capacity.max(1), next_seq: 0 }
    }

    pub(crate) fn push(&mut self, at: SimTime, kind: EventKind) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(Event { seq: self.next_seq, at, kind });
        self.next_seq += 1;
    }

    /// How many events the run has had, including those no longer kept.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// The kept events with `seq >= from`, oldest first. A reader that falls more than
    /// `capacity` events behind misses the oldest ones; [`Trace::first_kept`] tells.
    pub fn since(&self, from: u64) -> impl Iterator<Item = &Event> {
        let first = self.first_kept();
        let skip = from.saturating_sub(first).min(self.events.len() as u64) as usize;
        self.events.range(skip..)
    }

    /// The seq of the oldest kept event.
    pub fn first_kept(&self) -> u64 {
        self.next_seq - self.events.len() as u64
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_the_newest() {
        let mut t = Trace::new(3);
        for i in 0..5 {
            t.push(SimTime::from_micros(i), EventKind::ProcessingChanged { node: NodeId(0) });
        }
        assert_eq!(t.len(), 5);
        assert_eq!(t.first_kept(), 2);
        assert_eq!(t.since(0).map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(t.since(4).map(|e| e.seq).collect::<Vec<_>>(), [4]);
        assert_eq!(t.since(9).count(), 0);
    }
}
