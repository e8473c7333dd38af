//! The message broker, in the style of AMQP: named queues, each with one consumer.
//!
//! - A publish that reaches the broker is stored at the back of its queue, and the broker sends
//!   a confirm back to the publisher. The confirm means "stored", nothing more: no consumer has
//!   seen the message yet.
//! - The broker delivers from the front of the queue while the consumer holds fewer unacked
//!   deliveries than its prefetch; each delivery gets a tag.
//! - The consumer's ack for a tag lets the broker forget the message and deliver the next.
//!
//! # Limitations
//! The broker itself takes no time and never fails; one consumer per queue; no exchanges.

use std::collections::VecDeque;

use crate::engine::Ctx;
use crate::scenario::{Broker, LinkId, NodeId, QueueId};
use crate::trace::{EventKind, MsgId, Payload};

#[derive(Clone, Debug, Default)]
struct QueueState {
    /// Messages waiting for delivery, oldest first.
    ready: VecDeque<MsgId>,
    /// Delivered and not yet acked: (tag, message).
    unacked: Vec<(u64, MsgId)>,
    next_tag: u64,
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
        let q = &mut self.queues[queue.index as usize];
        q.ready.push_back(msg);
        let ready = q.ready.len() as u32;
        cx.note(EventKind::Enqueued { queue, message: msg, ready });
        cx.send(self.node, from, link, Payload::Confirm { publish: msg });
        self.dispatch(queue, spec, cx);
    }

    /// An ack arrived: forget the message and deliver the next one.
    pub fn ack(&mut self, queue: QueueId, tag: u64, spec: &Broker, cx: &mut Ctx) {
        let q = &mut self.queues[queue.index as usize];
        let Some(at) = q.unacked.iter().position(|&(t, _)| t == tag) else { return };
        let (_, message) = q.unacked.remove(at);
        cx.note(EventKind::Acked { queue, message, tag });
        self.dispatch(queue, spec, cx);
    }

    fn dispatch(&mut self, queue: QueueId, spec: &Broker, cx: &mut Ctx) {
        let def = &spec.queues[queue.index as usize];
        let q = &mut self.queues[queue.index as usize];
        while q.unacked.len() < def.prefetch as usize {
            let Some(message) = q.ready.pop_front() else { break };
            let tag = q.next_tag;
            q.next_tag += 1;
            q.unacked.push((tag, message));
            let ready = q.ready.len() as u32;
            cx.note(EventKind::Dequeued { queue, message, tag, ready });
            cx.send(self.node, def.consumer, def.link, Payload::Deliver { queue, message, tag });
        }
    }

    /// Messages stored in the queue: waiting, and delivered but not acked.
    pub fn holding(&self, queue: QueueId) -> (usize, usize) {
        let q = &self.queues[queue.index as usize];
        (q.ready.len(), q.unacked.len())
    }
}
