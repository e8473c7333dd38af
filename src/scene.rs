//! What the trace says is true right now: envelopes on the wire, what each worker is doing,
//! who waits in an inbox, what each queue holds. Built only by folding trace events, one at a
//! time, so the picture can never disagree with the run.

use std::collections::{BTreeMap, BTreeSet};

use callflow_sim::{
    Envelope, Event, EventKind, JobId, Model, MsgId, NodeId, QueueId, SimDuration, SimTime,
};

/// What one worker is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Busy with its own work from `since` until `until`.
    Working { since: SimTime, until: SimTime },
    /// Sent a request to `callee` at `since` and can do nothing until the response comes.
    Blocked { since: SimTime, callee: NodeId },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeScene {
    /// Busy workers, by worker index; an idle worker is absent.
    pub workers: BTreeMap<u32, Activity>,
    /// Jobs waiting for a worker.
    pub inbox: BTreeSet<JobId>,
    /// How long the last call waited for its response.
    pub last_wait: Option<SimDuration>,
    pub jobs_done: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueScene {
    /// Waiting for delivery, oldest first.
    pub ready: Vec<MsgId>,
    /// Delivered, not yet acked.
    pub unacked: Vec<MsgId>,
    pub acked: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    /// Envelopes on the wire, as their `Sent` events described them.
    pub wire: BTreeMap<MsgId, Envelope>,
    pub nodes: Vec<NodeScene>,
    pub queues: BTreeMap<QueueId, QueueScene>,
}

impl Scene {
    /// The scene of a run that has not started: every node idle, every queue empty.
    pub fn new(model: &Model) -> Scene {
        let mut scene =
            Scene { nodes: vec![NodeScene::default(); model.nodes.len()], ..Scene::default() };
        // Inserted one by one: collecting into a map would pull a sort into the wasm.
        for q in model.queue_ids() {
            scene.queues.insert(q, QueueScene::default());
        }
        scene
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        match e.kind {
            EventKind::Sent { msg, from, to, link, payload, arrives } => {
                let env = Envelope { id: msg, from, to, link, payload, sent: e.at, arrives };
                self.wire.insert(msg, env);
            }
            EventKind::Received { msg, .. } => {
                self.wire.remove(&msg);
            }
            EventKind::JobQueued { node, job, .. } => {
                self.node(node).inbox.insert(job);
            }
            EventKind::JobStarted { node, job, .. } => {
                self.node(node).inbox.remove(&job);
            }
            EventKind::WorkStarted { node, worker, until, .. } => {
                self.node(node).workers.insert(worker, Activity::Working { since: e.at, until });
            }
            EventKind::WorkDone { node, worker, .. } => {
                self.node(node).workers.remove(&worker);
            }
            EventKind::CallBlocked { node, worker, request, .. } => {
                let callee = self.wire.get(&request).map_or(node, |t| t.to);
                self.node(node).workers.insert(worker, Activity::Blocked { since: e.at, callee });
            }
            EventKind::CallReturned { node, worker, waited, .. } => {
                let n = self.node(node);
                n.workers.remove(&worker);
                n.last_wait = Some(waited);
            }
            EventKind::JobDone { node, worker, .. } => {
                let n = self.node(node);
                n.workers.remove(&worker);
                n.jobs_done += 1;
            }
            EventKind::Enqueued { queue, message, .. } => {
                self.queues.entry(queue).or_default().ready.push(message);
            }
            EventKind::Dequeued { queue, message, .. } => {
                let q = self.queues.entry(queue).or_default();
                q.ready.retain(|m| *m != message);
                q.unacked.push(message);
            }
            EventKind::Acked { queue, message, .. } => {
                let q = self.queues.entry(queue).or_default();
                q.unacked.retain(|m| *m != message);
                q.acked += 1;
            }
            EventKind::Triggered { .. }
            | EventKind::Arrived { .. }
            | EventKind::LinkLatencyChanged { .. }
            | EventKind::ProcessingChanged { .. } => {}
        }
    }

    fn node(&mut self, id: NodeId) -> &mut NodeScene {
        let i = id.0 as usize;
        if self.nodes.len() <= i {
            self.nodes.resize(i + 1, NodeScene::default());
        }
        &mut self.nodes[i]
    }

    /// Since when the node has been blocked on a call, and on whom, if it is.
    pub fn blocked(&self, id: NodeId) -> Option<(SimTime, NodeId)> {
        self.nodes.get(id.0 as usize)?.workers.values().find_map(|a| match *a {
            Activity::Blocked { since, callee } => Some((since, callee)),
            Activity::Working { .. } => None,
        })
    }
}
