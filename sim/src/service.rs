//! A service: a pool of workers that run jobs step by step, and the HTTP rules they follow.
//!
//! A job is a reader's trigger or a workload's arrival, an incoming HTTP request, or a message
//! the broker delivers. A free worker takes it at once; otherwise it waits in the inbox, first
//! come first served. The worker runs the job's steps in order:
//! - `work` holds the worker for the service's processing time;
//! - `call` sends an HTTP request and holds the worker, blocked, until the response to that very
//!   request arrives: however long it takes, the worker can do nothing else. With a timeout in
//!   the service's client policy, the worker gives up on an attempt after that long, waits its
//!   backoff (doubling, with jitter) and sends the request again, as many times as the policy
//!   allows; a response to an attempt it gave up on arrives late and is discarded. Once every
//!   attempt has failed, the job stops there: a request's job answers with an error;
//! - `publish` hands a message to the broker, in one of three ways. Fire and forget (the
//!   default) goes on at once: the broker's confirm comes back later and nobody waits for
//!   it, so a publish lost on the way is lost for good and nobody hears of it. Await confirm
//!   holds the worker until the confirm; a negative one, or none in time, fails the job, after
//!   the work before it was done. Outbox stages the message and goes on at once: when the job
//!   ends well the message is stored in the service's durable outbox, in the same transaction
//!   as its work (a job that fails or crashes stores nothing), and the service's relay
//!   publishes outbox messages one at a time, under their own ids, each again and again
//!   after its retry period until the broker confirms it. The outbox survives a crash; the
//!   relay starts again on recovery.
//! - `produce` appends a record to a log's topic and goes on at once, like a fire-and-forget
//!   `publish`; `notify` pushes an event to every current subscriber of one of the service's
//!   topics and goes on at once.
//!
//! After the last step, a request job sends its response, a delivery job its ack (a delivery
//! job that failed sends a nack instead, so that the broker delivers the message again) and a
//! record job its commit. Then the worker takes the next job from the inbox.
//!
//! An idempotent consumer keeps a durable store of the ids of the messages it has processed.
//! The id is written when the delivery's job ends well, in the same transaction as the job's
//! work, and before the ack leaves. A worker that takes a delivery whose id is in the store
//! acks it at once, without running its steps (`DuplicateSkipped`). So a crash before the job
//! ends leaves no record, and the redelivery does the work, as it should: the first try's work
//! was rolled back with it. A crash after the record, or an ack lost on its way, leaves the
//! record, and the redelivery is skipped.
//!
//! The state here changes only through the handlers below, which get the input and return
//! [`Command`]s; the engine applies them, drawing latencies and keeping the clock.
//!
//! # Limitations
//! The outbox relay publishes as soon as it has something to publish, not on a poll: there is
//! no delay between a commit and its first publish. A confirm lost on its way back makes the
//! relay publish a message the broker already has: the queue then holds it twice, under the
//! same id, which an idempotent consumer skips the second time. The store of an idempotent
//! consumer is its own: competing consumers do not share one, so a message redelivered to
//! another consumer runs again there. Two deliveries of one message that run at the same time,
//! on two workers, both run: the store is read when a job starts and written when it ends,
//! with no lock in between. A job's calls and publishes are not part of its transaction: a
//! crash after them and before the record does not undo them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::engine::{Command, Ctx};
use crate::scenario::{Action, LinkId, NodeId, Publishing, QueueId, Route, Service, TopicId};
use crate::time::{SimDuration, SimTime};
use crate::trace::{EventKind, JobId, MsgId, Payload};

/// Where a job came from, and so what is owed when it is done.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    Trigger,
    Request {
        msg: MsgId,
        from: NodeId,
        link: LinkId,
        key: Option<MsgId>,
    },
    /// `acked`: the consumer acks on receipt, so nothing is owed when the job is done.
    Delivery {
        broker: NodeId,
        link: LinkId,
        queue: QueueId,
        message: MsgId,
        tag: u64,
        acked: bool,
    },
    /// An event a server pushed for a subscription: nothing is owed.
    Push,
    /// A record of a log's partition: its commit is owed when the job is done.
    Record {
        log: NodeId,
        link: LinkId,
        topic: TopicId,
        partition: u32,
        offset: u64,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Job {
    pub id: JobId,
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Idle,
    Busy { job: Job, step: usize, blocked: Option<Blocked> },
}

/// A worker in a call that began at `since`: waiting for the response to `request`, or, with
/// `request` `None`, for its backoff before attempt `attempt`.
#[derive(Clone, Copy, Debug)]
struct Blocked {
    request: Option<MsgId>,
    since: SimTime,
    attempt: u32,
    /// The call's first request: its idempotency key.
    first: MsgId,
    /// Not a call: the worker waits for the broker's confirm of the publish `request`.
    confirm: bool,
}

/// A message for the broker, stored in the outbox: the relay publishes it until confirmed.
#[derive(Clone, Copy, Debug)]
struct OutboxEntry {
    message: MsgId,
    to: Route,
    link: LinkId,
    retry: SimDuration,
    /// How many times the relay has published it.
    attempts: u32,
}

/// A message a running job will store in the outbox if it ends well.
#[derive(Clone, Copy, Debug)]
struct Staged {
    worker: usize,
    to: Route,
    link: LinkId,
    retry: SimDuration,
}

/// The relay's publish waiting for its confirm, and whether the broker refused it already.
#[derive(Clone, Copy, Debug)]
struct Relaying {
    publish: MsgId,
    refused: bool,
}

/// What a service knows of an idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyState {
    Running,
    Done { ok: bool },
}

#[derive(Clone, Debug)]
pub(crate) struct ServiceState {
    node: NodeId,
    slots: Vec<Slot>,
    inbox: VecDeque<Job>,
    /// How many times the service has crashed: work scheduled before a crash is void.
    epoch: u32,
    /// Idempotency keys of the requests it has taken, kept across crashes as a database would.
    keys: BTreeMap<MsgId, KeyState>,
    /// Open subscriptions to this service's topics: (topic, subscriber, link), oldest first.
    subscribers: Vec<(u16, NodeId, LinkId)>,
    /// An idempotent consumer's store: the messages whose job ended well, kept across crashes.
    processed: BTreeSet<MsgId>,
    /// Outbox messages of running jobs, not yet committed: a crash or a failure drops them.
    staged: Vec<Staged>,
    /// The durable outbox, oldest first, kept across crashes.
    outbox: VecDeque<OutboxEntry>,
    /// The relay's publish in flight, if any; a crash forgets it.
    relay: Option<Relaying>,
}

impl ServiceState {
    pub fn new(node: NodeId, spec: &Service) -> ServiceState {
        ServiceState {
            node,
            slots: vec![Slot::Idle; spec.workers as usize],
            inbox: VecDeque::new(),
            epoch: 0,
            keys: BTreeMap::new(),
            subscribers: Vec::new(),
            processed: BTreeSet::new(),
            staged: Vec::new(),
            outbox: VecDeque::new(),
            relay: None,
        }
    }

    /// Opens this service's subscriptions to `server` (every server: `None`).
    pub fn open_subscriptions(&mut self, server: Option<NodeId>, spec: &Service, cx: &mut Ctx) {
        for sub in &spec.subscribe {
            if server.is_none_or(|s| s == sub.server) {
                cx.send(self.node, sub.server, sub.link, Payload::Subscribe { topic: sub.topic });
            }
        }
    }

    /// A subscription request arrived: push the topic's events to `from` from now on.
    pub fn subscribe(&mut self, topic: u16, from: NodeId, link: LinkId, cx: &mut Ctx) {
        if !self.subscribers.iter().any(|&(t, n, _)| t == topic && n == from) {
            self.subscribers.push((topic, from, link));
        }
        cx.note(EventKind::Subscribed { server: self.node, subscriber: from, topic });
    }

    /// Ends the subscriptions of `subscriber` (of everyone: `None`): a connection closed.
    pub fn unsubscribe(&mut self, subscriber: Option<NodeId>, cx: &mut Ctx) {
        let server = self.node;
        self.subscribers.retain(|&(topic, n, _)| {
            let ends = subscriber.is_none_or(|s| s == n);
            if ends {
                cx.note(EventKind::Unsubscribed { server, subscriber: n, topic });
            }
            !ends
        });
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The service crashes: every running and waiting job is lost, oldest first. Work it had
    /// scheduled belongs to the old epoch and will be ignored.
    pub fn crash(&mut self) -> Vec<JobId> {
        let mut lost: Vec<JobId> = Vec::new();
        for slot in &mut self.slots {
            if let Slot::Busy { job, .. } = *slot {
                lost.push(job.id);
            }
            *slot = Slot::Idle;
        }
        lost.extend(self.inbox.drain(..).map(|j| j.id));
        self.epoch += 1;
        // Uncommitted outbox messages roll back with their jobs; the outbox itself stays.
        self.staged.clear();
        self.relay = None;
        lost
    }

    /// The service is back: its relay publishes what is left in the outbox.
    pub fn recover(&mut self, cx: &mut Ctx) {
        self.relay_next(cx);
    }

    /// A new job: a free worker takes it, or it waits in the inbox. A request whose key the
    /// service knows is answered at once instead, from what it stored.
    pub fn admit(&mut self, job: Job, spec: &Service, cx: &mut Ctx) {
        // With ack on receipt the consumer acks on arrival, before any work, even before a
        // worker is free: a crash later loses the message.
        if let Origin::Delivery { broker, link, queue, message, tag, acked: true } = job.origin {
            cx.send(self.node, broker, link, Payload::Ack { queue, message, tag });
        }
        if let Origin::Request { msg, from, link, key: Some(key) } = job.origin {
            if let Some(&state) = self.keys.get(&key) {
                let ok = state == (KeyState::Done { ok: true });
                let stored = matches!(state, KeyState::Done { .. });
                cx.note(EventKind::Replayed { node: self.node, request: msg, key, stored });
                cx.send(self.node, from, link, Payload::HttpResponse { request: msg, ok });
                return;
            }
            self.keys.insert(key, KeyState::Running);
        }
        match self.slots.iter().position(|s| matches!(s, Slot::Idle)) {
            Some(worker) => self.start(worker, job, spec, cx),
            None => {
                self.inbox.push_back(job);
                let waiting = self.inbox.len() as u32;
                cx.note(EventKind::JobQueued { node: self.node, job: job.id, waiting });
            }
        }
    }

    /// The worker's `work` step is over.
    pub fn work_done(&mut self, worker: u32, spec: &Service, cx: &mut Ctx) {
        let Some(Slot::Busy { job, step, blocked: None }) =
            self.slots.get(worker as usize).copied()
        else {
            debug_assert!(false, "work done on a worker that was not working");
            return;
        };
        cx.note(EventKind::WorkDone { node: self.node, worker, job: job.id });
        self.run(worker as usize, job, step + 1, spec, cx);
    }

    /// The worker blocked on `request`, if any.
    fn blocked_on(&self, request: MsgId) -> Option<(usize, Job, usize, Blocked)> {
        self.slots.iter().enumerate().find_map(|(w, s)| match *s {
            Slot::Busy { job, step, blocked: Some(b) } if b.request == Some(request) => {
                Some((w, job, step, b))
            }
            _ => None,
        })
    }

    /// A response arrived: it frees the worker blocked on its request, if any; an error
    /// response counts as a failed attempt. A response nobody waits for changes nothing, and
    /// the answer is `false`.
    pub fn response(&mut self, request: MsgId, ok: bool, spec: &Service, cx: &mut Ctx) -> bool {
        let Some((worker, job, step, blocked)) = self.blocked_on(request) else { return false };
        cx.note(EventKind::CallReturned {
            node: self.node,
            worker: worker as u32,
            job: job.id,
            request,
            waited: cx.now - blocked.since,
            ok,
        });
        if ok {
            self.run(worker, job, step + 1, spec, cx);
        } else {
            self.attempt_failed(worker, job, step, blocked, spec, cx);
        }
        true
    }

    /// The timeout of `request` is up: if its worker still waits for it, the attempt failed.
    /// If it is a publish whose confirm a worker or the relay still waits for, the publish
    /// failed.
    pub fn timeout(&mut self, request: MsgId, spec: &Service, cx: &mut Ctx) {
        if self.relay_timeout(request, cx) {
            return;
        }
        let Some((worker, job, step, blocked)) = self.blocked_on(request) else { return };
        if blocked.confirm {
            cx.note(EventKind::PublishFailed {
                node: self.node,
                job: Some(job.id),
                publish: request,
                message: request,
                timed_out: true,
            });
            self.finish(worker, job, false, spec, cx);
            return;
        }
        cx.note(EventKind::CallTimedOut {
            node: self.node,
            worker: worker as u32,
            job: job.id,
            request,
            attempt: blocked.attempt,
        });
        self.attempt_failed(worker, job, step, blocked, spec, cx);
    }

    /// An attempt failed: back off before the next one, or fail the call and stop the job.
    fn attempt_failed(
        &mut self,
        worker: usize,
        job: Job,
        step: usize,
        blocked: Blocked,
        spec: &Service,
        cx: &mut Ctx,
    ) {
        let w = worker as u32;
        if blocked.attempt <= spec.client.retries {
            let doubled =
                spec.client.backoff.as_micros().saturating_mul(1 << (blocked.attempt - 1).min(20));
            let waiting = Blocked { request: None, attempt: blocked.attempt + 1, ..blocked };
            self.slots[worker] = Slot::Busy { job, step, blocked: Some(waiting) };
            cx.order(Command::Backoff {
                node: self.node,
                worker: w,
                job: job.id,
                attempt: blocked.attempt + 1,
                base: SimDuration::from_micros(doubled),
                jitter_per_mille: spec.client.jitter_per_mille,
            });
            return;
        }
        cx.note(EventKind::CallFailed {
            node: self.node,
            worker: w,
            job: job.id,
            attempts: blocked.attempt,
        });
        self.finish(worker, job, false, spec, cx);
    }

    /// The backoff is over: the worker sends the next attempt of its call.
    pub fn retry(&mut self, worker: u32, spec: &Service, cx: &mut Ctx) {
        let Some(Slot::Busy { job, step, blocked: Some(b) }) =
            self.slots.get(worker as usize).copied()
        else {
            return;
        };
        if b.request.is_some() {
            return;
        }
        self.call(worker as usize, job, step, b.since, b.attempt, Some(b.first), spec, cx);
    }

    /// Sends attempt `attempt` of the call at `step` and blocks the worker on it.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        worker: usize,
        job: Job,
        step: usize,
        since: SimTime,
        attempt: u32,
        first: Option<MsgId>,
        spec: &Service,
        cx: &mut Ctx,
    ) {
        let Some(&Action::Call { service, link }) = self.steps(job, spec).get(step) else {
            debug_assert!(false, "a call at a step that is not one");
            return;
        };
        let me = self.node;
        // The key is the first request's id; the first request takes the next id.
        let first_id = first.unwrap_or_else(|| cx.next_id());
        let key = spec.client.idempotency_key.then_some(first_id);
        let request = cx.send(me, service, link, Payload::HttpRequest { attempt, key });
        let blocked =
            Blocked { request: Some(request), since, attempt, first: first_id, confirm: false };
        self.slots[worker] = Slot::Busy { job, step, blocked: Some(blocked) };
        cx.note(EventKind::CallBlocked { node: me, worker: worker as u32, job: job.id, request });
        if let Some(after) = spec.client.timeout {
            cx.order(Command::Timeout { node: me, request, after });
        }
    }

    fn steps<'s>(&self, job: Job, spec: &'s Service) -> &'s [Action] {
        match job.origin {
            Origin::Trigger => &spec.on_trigger,
            Origin::Request { .. } => &spec.on_request,
            Origin::Delivery { .. } | Origin::Record { .. } | Origin::Push => &spec.on_message,
        }
    }

    fn start(&mut self, worker: usize, job: Job, spec: &Service, cx: &mut Ctx) {
        let me = self.node;
        let w = worker as u32;
        cx.note(EventKind::JobStarted { node: me, worker: w, job: job.id });
        if let Origin::Delivery { message, .. } = job.origin {
            if spec.idempotent_consumer && self.processed.contains(&message) {
                cx.note(EventKind::DuplicateSkipped { node: me, worker: w, job: job.id, message });
                self.finish(worker, job, true, spec, cx);
                return;
            }
        }
        self.run(worker, job, 0, spec, cx);
    }

    /// Runs the job's steps from `step` until one holds the worker or the job is done.
    fn run(&mut self, worker: usize, job: Job, mut step: usize, spec: &Service, cx: &mut Ctx) {
        let me = self.node;
        let w = worker as u32;
        let steps = self.steps(job, spec);

        while let Some(action) = steps.get(step) {
            match *action {
                Action::Work => {
                    self.slots[worker] = Slot::Busy { job, step, blocked: None };
                    cx.order(Command::Work { node: me, worker: w, job: job.id });
                    return;
                }
                Action::Call { .. } => {
                    self.call(worker, job, step, cx.now, 1, None, spec, cx);
                    return;
                }
                Action::Publish { to, link, mode: Publishing::FireAndForget } => {
                    cx.send(me, to.broker(), link, publish(to, cx));
                    step += 1;
                }
                Action::Notify { topic } => {
                    let mut n = 0;
                    for &(t, to, link) in &self.subscribers {
                        if t == topic {
                            cx.send(me, to, link, Payload::Push { topic });
                            n += 1;
                        }
                    }
                    cx.note(EventKind::Notified { node: me, topic, subscribers: n });
                    step += 1;
                }
                Action::Produce { topic, link, keys } => {
                    let key = (job.id.0 % u64::from(keys)) as u32;
                    cx.send(me, topic.log, link, Payload::Produce { topic, key });
                    step += 1;
                }
                Action::Publish { to, link, mode: Publishing::Outbox(retry) } => {
                    self.staged.push(Staged { worker, to, link, retry });
                    step += 1;
                }
                Action::Publish { to, link, mode: Publishing::AwaitConfirm(after) } => {
                    let publish = cx.send(me, to.broker(), link, publish(to, cx));
                    let blocked = Blocked {
                        request: Some(publish),
                        since: cx.now,
                        attempt: 1,
                        first: publish,
                        confirm: true,
                    };
                    self.slots[worker] = Slot::Busy { job, step, blocked: Some(blocked) };
                    cx.note(EventKind::ConfirmAwaited {
                        node: me,
                        worker: w,
                        job: job.id,
                        publish,
                    });
                    cx.order(Command::Timeout { node: me, request: publish, after });
                    return;
                }
            }
        }

        self.finish(worker, job, true, spec, cx);
    }

    /// The job ends, well or not: commit its outbox messages with its work, or roll them
    /// back; pay what it owes; then take the next one.
    fn finish(&mut self, worker: usize, job: Job, ok: bool, spec: &Service, cx: &mut Ctx) {
        let me = self.node;
        let w = worker as u32;
        // The job's outbox messages commit with it, or go with it; most jobs have none.
        if !self.staged.is_empty() {
            let (mine, others): (Vec<Staged>, Vec<Staged>) =
                self.staged.drain(..).partition(|s| s.worker == worker);
            self.staged = others;
            for Staged { to, link, retry, .. } in mine.into_iter().filter(|_| ok) {
                let message = cx.new_id();
                self.outbox.push_back(OutboxEntry { message, to, link, retry, attempts: 0 });
                cx.note(EventKind::OutboxStored { node: me, job: job.id, message });
            }
        }
        match job.origin {
            Origin::Trigger | Origin::Push => {}
            Origin::Request { msg, from, link, key } => {
                if let Some(key) = key {
                    self.keys.insert(key, KeyState::Done { ok });
                }
                cx.send(me, from, link, Payload::HttpResponse { request: msg, ok });
            }
            Origin::Delivery { broker, link, queue, message, tag, acked } => {
                // The record of the message commits with the job's work, before the ack.
                if ok && spec.idempotent_consumer {
                    self.processed.insert(message);
                }
                if !acked {
                    let answer = if ok {
                        Payload::Ack { queue, message, tag }
                    } else {
                        Payload::Nack { queue, message, tag }
                    };
                    cx.send(me, broker, link, answer);
                }
            }
            Origin::Record { log, link, topic, partition, offset } => {
                cx.send(me, log, link, Payload::Commit { topic, partition, offset });
            }
        }
        cx.note(EventKind::JobDone { node: me, worker: w, job: job.id, failed: !ok });
        self.relay_next(cx);
        self.slots[worker] = Slot::Idle;
        if let Some(next) = self.inbox.pop_front() {
            self.start(worker, next, spec, cx);
        }
    }

    /// The broker's confirm of `publish` arrived. It frees a worker that waits for it: to go
    /// on if it is positive, to fail its job if not. Or it tells the relay. A confirm nobody
    /// waits for (a fire-and-forget publish's, or one too late) changes nothing.
    pub fn confirm(&mut self, publish: MsgId, ok: bool, spec: &Service, cx: &mut Ctx) {
        let me = self.node;
        let Some((worker, job, step, blocked)) = self.blocked_on(publish) else {
            self.relay_confirm(publish, ok, cx);
            return;
        };
        if ok {
            cx.note(EventKind::PublishConfirmed {
                node: me,
                worker: worker as u32,
                job: job.id,
                publish,
                waited: cx.now - blocked.since,
            });
            self.run(worker, job, step + 1, spec, cx);
        } else {
            let e = EventKind::PublishFailed {
                node: me,
                job: Some(job.id),
                publish,
                message: publish,
                timed_out: false,
            };
            cx.note(e);
            self.finish(worker, job, false, spec, cx);
        }
    }

    /// The relay's publish `publish` was confirmed, or refused: a positive confirm takes its
    /// message out of the outbox and the relay goes on with the next; after a refusal the
    /// relay waits out its period before it publishes the message again.
    fn relay_confirm(&mut self, publish: MsgId, ok: bool, cx: &mut Ctx) {
        let Some(relaying) = self.relay.filter(|r| r.publish == publish) else { return };
        let Some(&entry) = self.outbox.front() else { return };
        let node = self.node;
        if ok {
            self.outbox.pop_front();
            self.relay = None;
            let (message, attempts) = (entry.message, entry.attempts);
            cx.note(EventKind::OutboxRelayed { node, message, attempts });
            self.relay_next(cx);
        } else if !relaying.refused {
            self.relay = Some(Relaying { refused: true, ..relaying });
            let message = entry.message;
            cx.note(EventKind::PublishFailed {
                node,
                job: None,
                publish,
                message,
                timed_out: false,
            });
        }
    }

    /// The relay's wait for the confirm of `publish` is over: it publishes the message again.
    /// `false` if `publish` is not the relay's.
    fn relay_timeout(&mut self, publish: MsgId, cx: &mut Ctx) -> bool {
        let Some(relaying) = self.relay.filter(|r| r.publish == publish) else { return false };
        if let (false, Some(entry)) = (relaying.refused, self.outbox.front()) {
            let (node, message) = (self.node, entry.message);
            cx.note(EventKind::PublishFailed {
                node,
                job: None,
                publish,
                message,
                timed_out: true,
            });
        }
        self.relay = None;
        self.relay_next(cx);
        true
    }

    /// The relay publishes the oldest outbox message, under its own id, unless it already
    /// waits for a confirm: one at a time, in order.
    fn relay_next(&mut self, cx: &mut Ctx) {
        if self.relay.is_some() {
            return;
        }
        let Some(entry) = self.outbox.front_mut() else { return };
        entry.attempts += 1;
        let payload = Payload::PublishTo { route: entry.to, message: entry.message };
        let publish = cx.send(self.node, entry.to.broker(), entry.link, payload);
        cx.order(Command::Timeout { node: self.node, request: publish, after: entry.retry });
        self.relay = Some(Relaying { publish, refused: false });
    }
}

/// What a publish to `to` carries: a publish to a queue is its own message; one to an
/// exchange names its message, the id the envelope is about to take.
fn publish(to: Route, cx: &Ctx) -> Payload {
    match to {
        Route::Queue(queue) => Payload::Publish { queue },
        Route::Exchange(_) => Payload::PublishTo { route: to, message: cx.next_id() },
    }
}
