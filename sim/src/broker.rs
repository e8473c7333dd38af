//! The message broker, in the style of AMQP: named queues, each with one consumer.
//!
//! - A publish that reaches the broker is stored at the back of its queue, and the broker sends
//!   a confirm back to the publisher. The confirm means "stored", nothing more: no consumer has
//!   seen the message yet.
//! - The broker delivers from the front of the queue while the consumer holds fewer unacked
//!   deliveries than its prefetch; each delivery gets a tag.
//! - The consumer's ack for a tag lets the broker forget the message and deliver the next.
//!   Its nack (the job failed) makes the broker take the message back: to the front of the
//!   queue, to go out again marked as redelivered with the same id, or to the dead-letter
//!   queue once it has been delivered as often as the queue allows.
//! - Messages are durable. When a consumer crashes, or the broker itself, the broker takes
//!   back every delivery that was not acked: the messages wait at the front of their queue
//!   again, in their order, and go out again marked as redelivered, with the same id. A
//!   queue whose consumer is down delivers nothing until it recovers.
//!
//! - A queue may be bounded: when full, it refuses a new message (the publisher's confirm is
//!   negative) or drops its oldest waiting one, and says so. A queue may send a message that
//!   was delivered a given number of times without an ack to a dead-letter queue instead of
//!   delivering it again, whether it came back by a nack or because its consumer crashed.
//!
//! # Limitations
//! The broker itself takes no time; one consumer per queue; no exchanges.

use std::collections::VecDeque;

use crate::engine::Ctx;
use crate::scenario::{Broker, LinkId, NodeId, Overflow, QueueId};
use crate::trace::{EventKind, MsgId, Payload};

/// One copy of a message held by a queue, and how many times it went out.
#[derive(Clone, Copy, Debug)]
struct Held {
    message: MsgId,
    delivered: u32,
}

#[derive(Clone, Debug, Default)]
struct QueueState {
    /// Messages waiting for delivery, oldest first.
    ready: VecDeque<Held>,
    /// Delivered and not yet acked: (tag, message).
    unacked: Vec<(u64, Held)>,
    next_tag: u64,
    /// The consumer is down: deliver nothing.
    paused: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct BrokerState {
    node: NodeId,
    queues: Vec<QueueState>,
}

impl BrokerState {
    pub fn new(node: NodeId, spec: &Broker) -> BrokerState {
        BrokerState { node, queues: vec![QueueState::default(); spec.queues.len()] }
    }

    /// A publish arrived: store it, confirm it to the publisher, deliver if the consumer can take it.
    pub fn publish(
        &mut self,
        msg: MsgId,
        from: NodeId,
        link: LinkId,
        queue: QueueId,
        spec: &Broker,
        cx: &mut Ctx,
    ) {
        let def = &spec.queues[queue.index as usize];
        let q = &mut self.queues[queue.index as usize];
        if def.max_length.is_some_and(|max| q.ready.len() >= max as usize) {
            match def.overflow {
                Overflow::RejectPublish => {
                    cx.note(EventKind::Overflowed { queue, message: msg, dropped_oldest: false });
                    cx.send(self.node, from, link, Payload::Confirm { publish: msg, ok: false });
                    return;
                }
                Overflow::DropOldest => {
                    if let Some(oldest) = q.ready.pop_front() {
                        let message = oldest.message;
                        cx.note(EventKind::Overflowed { queue, message, dropped_oldest: true });
                    }
                }
            }
        }
        q.ready.push_back(Held { message: msg, delivered: 0 });
        let ready = q.ready.len() as u32;
        cx.note(EventKind::Enqueued { queue, message: msg, ready });
        cx.send(self.node, from, link, Payload::Confirm { publish: msg, ok: true });
        self.dispatch(queue, spec, cx);
    }

    /// An ack arrived: forget the message and deliver the next one. An ack for a tag the
    /// broker no longer holds out (it took the delivery back) changes nothing: `false`.
    pub fn ack(&mut self, queue: QueueId, tag: u64, spec: &Broker, cx: &mut Ctx) -> bool {
        let q = &mut self.queues[queue.index as usize];
        let Some(at) = q.unacked.iter().position(|&(t, _)| t == tag) else { return false };
        let (_, held) = q.unacked.remove(at);
        cx.note(EventKind::Acked { queue, message: held.message, tag });
        self.dispatch(queue, spec, cx);
        true
    }

    /// A nack arrived: the consumer's job failed. The broker takes the message back, to the
    /// front of the queue or, delivered as often as the dead-letter rule allows, to the
    /// dead-letter queue; then it delivers again. A nack for a tag it no longer holds out
    /// changes nothing: `false`.
    pub fn nack(&mut self, queue: QueueId, tag: u64, spec: &Broker, cx: &mut Ctx) -> bool {
        let q = &mut self.queues[queue.index as usize];
        let Some(at) = q.unacked.iter().position(|&(t, _)| t == tag) else { return false };
        let taken = q.unacked.remove(at);
        cx.note(EventKind::Nacked { queue, message: taken.1.message, tag });
        if let Some(dead) = self.take_back(queue, vec![taken], spec, cx) {
            self.dispatch(dead, spec, cx);
        }
        self.dispatch(queue, spec, cx);
        true
    }

    /// Takes back every unacked delivery of `queue`; see [`BrokerState::take_back`].
    fn requeue(&mut self, queue: QueueId, spec: &Broker, cx: &mut Ctx) -> Option<QueueId> {
        let taken: Vec<(u64, Held)> = self.queues[queue.index as usize].unacked.drain(..).collect();
        self.take_back(queue, taken, spec, cx)
    }

    /// Puts deliveries taken back from a consumer at the front of `queue`, in their order; one
    /// delivered as often as the dead-letter rule allows goes to the dead-letter queue instead.
    /// Returns the dead-letter queue if anything went there.
    fn take_back(
        &mut self,
        queue: QueueId,
        taken: Vec<(u64, Held)>,
        spec: &Broker,
        cx: &mut Ctx,
    ) -> Option<QueueId> {
        let rule = spec.queues[queue.index as usize].dead_letter;
        let q = &mut self.queues[queue.index as usize];
        let mut dead = Vec::new();
        for &(tag, held) in taken.iter().rev() {
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

    /// The consumer of these queues crashed: take back what it held, deliver nothing more.
    pub fn consumer_down(&mut self, queues: &[QueueId], spec: &Broker, cx: &mut Ctx) {
        for &q in queues {
            self.queues[q.index as usize].paused = true;
            if let Some(dead) = self.requeue(q, spec, cx) {
                self.dispatch(dead, spec, cx);
            }
        }
    }

    /// The consumer of these queues is back; `deliver` unless the broker itself is down.
    pub fn consumer_up(&mut self, queues: &[QueueId], deliver: bool, spec: &Broker, cx: &mut Ctx) {
        for &q in queues {
            self.queues[q.index as usize].paused = false;
            if deliver {
                self.dispatch(q, spec, cx);
            }
        }
    }

    /// The broker crashed: its consumers' channels are gone, so every unacked delivery is
    /// taken back; the stored messages survive.
    pub fn crash(&mut self, spec: &Broker, cx: &mut Ctx) {
        for index in 0..self.queues.len() {
            self.requeue(QueueId { broker: self.node, index: index as u16 }, spec, cx);
        }
    }

    /// The broker is back: deliver to every consumer that is up.
    pub fn recover(&mut self, spec: &Broker, cx: &mut Ctx) {
        for index in 0..self.queues.len() {
            self.dispatch(QueueId { broker: self.node, index: index as u16 }, spec, cx);
        }
    }

    fn dispatch(&mut self, queue: QueueId, spec: &Broker, cx: &mut Ctx) {
        let def = &spec.queues[queue.index as usize];
        let q = &mut self.queues[queue.index as usize];
        while !q.paused && q.unacked.len() < def.prefetch as usize {
            let Some(mut held) = q.ready.pop_front() else { break };
            let (message, redelivered) = (held.message, held.delivered > 0);
            held.delivered += 1;
            let tag = q.next_tag;
            q.next_tag += 1;
            q.unacked.push((tag, held));
            let ready = q.ready.len() as u32;
            cx.note(EventKind::Dequeued { queue, message, tag, ready });
            let payload = Payload::Deliver { queue, message, tag, redelivered };
            cx.send(self.node, def.consumer, def.link, payload);
        }
    }

    /// Messages stored in the queue: waiting, and delivered but not acked.
    pub fn holding(&self, queue: QueueId) -> (usize, usize) {
        let q = &self.queues[queue.index as usize];
        (q.ready.len(), q.unacked.len())
    }
}
