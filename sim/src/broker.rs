//! The message broker, in the style of AMQP: named queues, each with one consumer or several
//! competing ones.
//!
//! - A publish that reaches the broker is stored at the back of its queue, and the broker sends
//!   a confirm back to the publisher. The confirm means "stored", nothing more: no consumer has
//!   seen the message yet.
//! - A publish to a fan-out exchange stores a copy of the message in each queue the exchange
//!   is bound to; each copy is delivered, acked, requeued or dead-lettered on its own, and
//!   each queue applies its own bound. The confirm is positive only if every queue took its
//!   copy; a copy one full queue refused is not taken back from the others.
//! - The broker delivers from the front of the queue to a consumer that is up and holds fewer
//!   unacked deliveries than the queue's prefetch; with several such consumers it takes turns,
//!   round robin in the order the queue lists them, so each message goes to exactly one. Each
//!   delivery gets a tag.
//! - The consumer's ack for a tag lets the broker forget the message and deliver the next.
//!   Its nack (the job failed) makes the broker take the message back: to the front of the
//!   queue, to go out again marked as redelivered with the same id, or to the dead-letter
//!   queue once it has been delivered as often as the queue allows.
//! - Messages are durable. When a consumer crashes, the broker takes back every delivery that
//!   consumer had not acked; when the broker itself crashes, every delivery. The messages wait
//!   at the front of their queue again, in their order, and go out again marked as
//!   redelivered, with the same id: to another consumer that is up, or to the same one once it
//!   recovers. A queue whose consumers are all down delivers nothing until one recovers.
//!
//! - A queue may be bounded: when full, it refuses a new message (the publisher's confirm is
//!   negative) or drops its oldest waiting one, and says so. A queue may send a message that
//!   was delivered a given number of times without an ack to a dead-letter queue instead of
//!   delivering it again, whether it came back by a nack or because its consumer crashed.
//!
//! # Limitations
//! The broker itself takes no time. Exchanges only fan out: no routing keys, no topics, no
//! headers, no exchange bound to an exchange. A requeued message goes to the front of its
//! queue, so a message whose job keeps failing is delivered again at once, again and again,
//! unless the queue has a dead-letter rule. Consumers take turns strictly: no weights, no
//! priorities, no consumer that cancels and comes back except by crashing. The broker does not
//! deduplicate: a message published twice under one id (an outbox relay whose confirm was
//! lost) is stored twice.

use std::collections::VecDeque;

use crate::engine::Ctx;
use crate::scenario::{Broker, LinkId, NodeId, Overflow, QueueId, Route};
use crate::trace::{EventKind, MsgId, Payload};

/// A publish as it reached the broker: its envelope, the message it carries and where to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Publish {
    /// The envelope's id, which the confirm names.
    pub id: MsgId,
    pub message: MsgId,
    pub from: NodeId,
    pub link: LinkId,
    pub to: Route,
}

/// One copy of a message held by a queue, and how many times it went out.
#[derive(Clone, Copy, Debug)]
struct Held {
    message: MsgId,
    delivered: u32,
}

/// A delivery out with a consumer, not yet acked.
#[derive(Clone, Copy, Debug)]
struct Out {
    tag: u64,
    held: Held,
    /// The consumer's index in the queue's list.
    consumer: usize,
}

#[derive(Clone, Debug)]
struct QueueState {
    /// Messages waiting for delivery, oldest first.
    ready: VecDeque<Held>,
    /// Delivered and not yet acked, oldest first.
    unacked: Vec<Out>,
    next_tag: u64,
    /// Per consumer: up, as far as the broker knows.
    up: Vec<bool>,
    /// The consumer whose turn it is next.
    turn: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct BrokerState {
    node: NodeId,
    queues: Vec<QueueState>,
    /// The broker crashed and has not recovered: it delivers nothing.
    down: bool,
}

impl BrokerState {
    pub fn new(node: NodeId, spec: &Broker) -> BrokerState {
        let queues = spec
            .queues
            .iter()
            .map(|q| QueueState {
                ready: VecDeque::new(),
                unacked: Vec::new(),
                next_tag: 0,
                up: vec![true; q.consumers.len()],
                turn: 0,
            })
            .collect();
        BrokerState { node, queues, down: false }
    }

    /// A publish arrived: store a copy of `message` in each queue of its route, confirm the
    /// publish to its sender (ok only if every queue took its copy), then deliver what the
    /// consumers can take.
    pub fn publish(&mut self, publish: Publish, spec: &Broker, cx: &mut Ctx) {
        let Publish { id, message, from, link, to } = publish;
        let queues: &[u16] = match &to {
            Route::Queue(q) => std::slice::from_ref(&q.index),
            Route::Exchange(x) => &spec.exchanges[x.index as usize].queues,
        };
        let mut ok = true;
        for &index in queues {
            ok &= self.store(QueueId { broker: self.node, index }, message, spec, cx);
        }
        cx.send(self.node, from, link, Payload::Confirm { publish: id, ok });
        for &index in queues {
            self.dispatch(QueueId { broker: self.node, index }, spec, cx);
        }
    }

    /// Stores `message` at the back of `queue`, unless it is full and refuses it: `false`.
    fn store(&mut self, queue: QueueId, message: MsgId, spec: &Broker, cx: &mut Ctx) -> bool {
        let def = &spec.queues[queue.index as usize];
        let q = &mut self.queues[queue.index as usize];
        if def.max_length.is_some_and(|max| q.ready.len() >= max as usize) {
            match def.overflow {
                Overflow::RejectPublish => {
                    cx.note(EventKind::Overflowed { queue, message, dropped_oldest: false });
                    return false;
                }
                Overflow::DropOldest => {
                    if let Some(oldest) = q.ready.pop_front() {
                        let message = oldest.message;
                        cx.note(EventKind::Overflowed { queue, message, dropped_oldest: true });
                    }
                }
            }
        }
        q.ready.push_back(Held { message, delivered: 0 });
        let ready = q.ready.len() as u32;
        cx.note(EventKind::Enqueued { queue, message, ready });
        true
    }

    /// An ack arrived: forget the message and deliver the next one. An ack for a tag the
    /// broker no longer holds out (it took the delivery back) changes nothing: `false`.
    pub fn ack(&mut self, queue: QueueId, tag: u64, spec: &Broker, cx: &mut Ctx) -> bool {
        let q = &mut self.queues[queue.index as usize];
        let Some(at) = q.unacked.iter().position(|o| o.tag == tag) else { return false };
        let out = q.unacked.remove(at);
        cx.note(EventKind::Acked { queue, message: out.held.message, tag });
        self.dispatch(queue, spec, cx);
        true
    }

    /// A nack arrived: the consumer's job failed. The broker takes the message back, to the
    /// front of the queue or, delivered as often as the dead-letter rule allows, to the
    /// dead-letter queue; then it delivers again. A nack for a tag it no longer holds out
    /// changes nothing: `false`.
    pub fn nack(&mut self, queue: QueueId, tag: u64, spec: &Broker, cx: &mut Ctx) -> bool {
        let q = &mut self.queues[queue.index as usize];
        let Some(at) = q.unacked.iter().position(|o| o.tag == tag) else { return false };
        let taken = q.unacked.remove(at);
        cx.note(EventKind::Nacked { queue, message: taken.held.message, tag });
        if let Some(dead) = self.take_back(queue, vec![taken], spec, cx) {
            self.dispatch(dead, spec, cx);
        }
        self.dispatch(queue, spec, cx);
        true
    }

    /// Takes back the unacked deliveries of `queue` held by the consumers `whose` picks; see
    /// [`BrokerState::take_back`].
    fn requeue(
        &mut self,
        queue: QueueId,
        whose: impl Fn(usize) -> bool,
        spec: &Broker,
        cx: &mut Ctx,
    ) -> Option<QueueId> {
        let q = &mut self.queues[queue.index as usize];
        let (taken, kept): (Vec<Out>, Vec<Out>) =
            q.unacked.drain(..).partition(|o| whose(o.consumer));
        q.unacked = kept;
        self.take_back(queue, taken, spec, cx)
    }

    /// Puts deliveries taken back from a consumer at the front of `queue`, in their order; one
    /// delivered as often as the dead-letter rule allows goes to the dead-letter queue instead.
    /// Returns the dead-letter queue if anything went there.
    fn take_back(
        &mut self,
        queue: QueueId,
        taken: Vec<Out>,
        spec: &Broker,
        cx: &mut Ctx,
    ) -> Option<QueueId> {
        let rule = spec.queues[queue.index as usize].dead_letter;
        let q = &mut self.queues[queue.index as usize];
        let mut dead = Vec::new();
        for &Out { tag, held, .. } in taken.iter().rev() {
            match rule {
                Some((to, after)) if held.delivered >= after => dead.push((held, to)),
                _ => {
                    q.ready.push_front(held);
                    cx.note(EventKind::Requeued { queue, message: held.message, tag });
                }
            }
        }
        let mut to_queue = None;
        for (held, to) in dead.into_iter().rev() {
            let to = QueueId { broker: self.node, index: to };
            let (message, deliveries) = (held.message, held.delivered);
            cx.note(EventKind::DeadLettered { queue, message, to, deliveries });
            let d = &mut self.queues[to.index as usize];
            d.ready.push_back(Held { message, delivered: 0 });
            let ready = d.ready.len() as u32;
            cx.note(EventKind::Enqueued { queue: to, message, ready });
            to_queue = Some(to);
        }
        to_queue
    }

    /// The consumer `node` of these queues crashed: take back what it held and hand it to
    /// the other consumers that are up; deliver nothing more to it.
    pub fn consumer_down(&mut self, node: NodeId, queues: &[QueueId], spec: &Broker, cx: &mut Ctx) {
        for &queue in queues {
            let Some(k) = consumer_index(spec, queue, node) else { continue };
            self.queues[queue.index as usize].up[k] = false;
            if let Some(dead) = self.requeue(queue, |c| c == k, spec, cx) {
                self.dispatch(dead, spec, cx);
            }
            self.dispatch(queue, spec, cx);
        }
    }

    /// The consumer `node` of these queues is back: deliver to it, unless the broker is down.
    pub fn consumer_up(&mut self, node: NodeId, queues: &[QueueId], spec: &Broker, cx: &mut Ctx) {
        for &queue in queues {
            let Some(k) = consumer_index(spec, queue, node) else { continue };
            self.queues[queue.index as usize].up[k] = true;
            self.dispatch(queue, spec, cx);
        }
    }

    /// The broker crashed: its consumers' channels are gone, so every unacked delivery is
    /// taken back; the stored messages survive.
    pub fn crash(&mut self, spec: &Broker, cx: &mut Ctx) {
        self.down = true;
        for index in 0..self.queues.len() {
            self.requeue(QueueId { broker: self.node, index: index as u16 }, |_| true, spec, cx);
        }
    }

    /// The broker is back: deliver to every consumer that is up.
    pub fn recover(&mut self, spec: &Broker, cx: &mut Ctx) {
        self.down = false;
        for index in 0..self.queues.len() {
            self.dispatch(QueueId { broker: self.node, index: index as u16 }, spec, cx);
        }
    }

    /// Delivers from the front of the queue, taking turns among the consumers that are up and
    /// have room under the prefetch, until the queue is empty or none has room.
    fn dispatch(&mut self, queue: QueueId, spec: &Broker, cx: &mut Ctx) {
        if self.down {
            return;
        }
        let def = &spec.queues[queue.index as usize];
        let q = &mut self.queues[queue.index as usize];
        let n = def.consumers.len();
        while !q.ready.is_empty() {
            let has_room = |k: usize| {
                q.up[k]
                    && q.unacked.iter().filter(|o| o.consumer == k).count() < def.prefetch as usize
            };
            let Some(k) = (0..n).map(|i| (q.turn + i) % n).find(|&k| has_room(k)) else { break };
            let Some(mut held) = q.ready.pop_front() else { break };
            q.turn = (k + 1) % n;
            let (message, redelivered) = (held.message, held.delivered > 0);
            held.delivered += 1;
            let tag = q.next_tag;
            q.next_tag += 1;
            q.unacked.push(Out { tag, held, consumer: k });
            let ready = q.ready.len() as u32;
            cx.note(EventKind::Dequeued { queue, message, tag, ready });
            let payload = Payload::Deliver { queue, message, tag, redelivered };
            let to = def.consumers[k];
            cx.send(self.node, to.node, to.link, payload);
        }
    }

    /// Messages stored in the queue: waiting, and delivered but not acked.
    pub fn holding(&self, queue: QueueId) -> (usize, usize) {
        let q = &self.queues[queue.index as usize];
        (q.ready.len(), q.unacked.len())
    }
}

/// The index of `node` among the queue's consumers.
fn consumer_index(spec: &Broker, queue: QueueId, node: NodeId) -> Option<usize> {
    spec.queues.get(queue.index as usize)?.consumers.iter().position(|c| c.node == node)
}
