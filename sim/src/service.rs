//! A service: a pool of workers that run jobs step by step, and the HTTP rules they follow.
//!
//! A job is a reader's trigger or a workload's arrival, an incoming HTTP request, or a message
//! the broker delivers. A free worker takes it at once; otherwise it waits in the inbox, first come first served. The
//! worker runs the job's steps in order:
//! - `work` holds the worker for the service's processing time;
//! - `call` sends an HTTP request and holds the worker, blocked, until the response to that very
//!   request arrives: however long it takes, the worker can do nothing else;
//! - `publish` hands a message to the broker and goes on at once: the broker's confirm comes
//!   back later and nobody waits for it.
//!
//! After the last step, a request job sends its response and a delivery job its ack; then the
//! worker takes the next job from the inbox.
//!
//! The state here changes only through the handlers below, which get the input and return
//! [`Command`]s; the engine applies them, drawing latencies and keeping the clock.

use std::collections::VecDeque;

use crate::engine::{Command, Ctx};
use crate::scenario::{Action, LinkId, NodeId, QueueId, Service};
use crate::time::SimTime;
use crate::trace::{EventKind, JobId, MsgId, Payload};

/// Where a job came from, and so what is owed when it is done.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    Trigger,
    Request { msg: MsgId, from: NodeId, link: LinkId },
    Delivery { broker: NodeId, link: LinkId, queue: QueueId, message: MsgId, tag: u64 },
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

/// A worker that sent `request` at `since` and waits for its response.
#[derive(Clone, Copy, Debug)]
struct Blocked {
    request: MsgId,
    since: SimTime,
}

#[derive(Clone, Debug)]
pub(crate) struct ServiceState {
    node: NodeId,
    slots: Vec<Slot>,
    inbox: VecDeque<Job>,
    /// How many times the service has crashed: work scheduled before a crash is void.
    epoch: u32,
}

impl ServiceState {
    pub fn new(node: NodeId, spec: &Service) -> ServiceState {
        ServiceState {
            node,
            slots: vec![Slot::Idle; spec.workers as usize],
            inbox: VecDeque::new(),
            epoch: 0,
        }
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
        lost
    }

    /// A new job: a free worker takes it, or it waits in the inbox.
    pub fn admit(&mut self, job: Job, spec: &Service, cx: &mut Ctx) {
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

    /// A response arrived: it frees the worker blocked on its request, if any. A response
    /// nobody waits for changes nothing, and the answer is `false`.
    pub fn response(&mut self, request: MsgId, spec: &Service, cx: &mut Ctx) -> bool {
        let found = self.slots.iter().enumerate().find_map(|(w, s)| match *s {
            Slot::Busy { job, step, blocked: Some(b) } if b.request == request => {
                Some((w, job, step, b))
            }
            _ => None,
        });
        let Some((worker, job, step, blocked)) = found else { return false };
        cx.note(EventKind::CallReturned {
            node: self.node,
            worker: worker as u32,
            job: job.id,
            request,
            waited: cx.now - blocked.since,
        });
        self.run(worker, job, step + 1, spec, cx);
        true
    }

    fn start(&mut self, worker: usize, job: Job, spec: &Service, cx: &mut Ctx) {
        cx.note(EventKind::JobStarted { node: self.node, worker: worker as u32, job: job.id });
        self.run(worker, job, 0, spec, cx);
    }

    /// Runs the job's steps from `step` until one holds the worker or the job is done.
    fn run(&mut self, worker: usize, job: Job, mut step: usize, spec: &Service, cx: &mut Ctx) {
        let me = self.node;
        let w = worker as u32;
        let steps = match job.origin {
            Origin::Trigger => &spec.on_trigger,
            Origin::Request { .. } => &spec.on_request,
            Origin::Delivery { .. } => &spec.on_message,
        };

        while let Some(action) = steps.get(step) {
            match *action {
                Action::Work => {
                    self.slots[worker] = Slot::Busy { job, step, blocked: None };
                    cx.order(Command::Work { node: me, worker: w, job: job.id });
                    return;
                }
                Action::Call { service, link } => {
                    let request = cx.send(me, service, link, Payload::HttpRequest);
                    let blocked = Blocked { request, since: cx.now };
                    self.slots[worker] = Slot::Busy { job, step, blocked: Some(blocked) };
                    cx.note(EventKind::CallBlocked { node: me, worker: w, job: job.id, request });
                    return;
                }
                Action::Publish { queue, link } => {
                    cx.send(me, queue.broker, link, Payload::Publish { queue });
                    step += 1;
                }
            }
        }

        // Every step is done: pay what the job owes, then take the next one.
        match job.origin {
            Origin::Trigger => {}
            Origin::Request { msg, from, link } => {
                cx.send(me, from, link, Payload::HttpResponse { request: msg });
            }
            Origin::Delivery { broker, link, queue, message, tag, .. } => {
                cx.send(me, broker, link, Payload::Ack { queue, message, tag });
            }
        }
        cx.note(EventKind::JobDone { node: me, worker: w, job: job.id });
        self.slots[worker] = Slot::Idle;
        if let Some(next) = self.inbox.pop_front() {
            self.start(worker, next, spec, cx);
        }
    }
}
