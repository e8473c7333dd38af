//! What the trace says is true right now: envelopes on the wire, what each worker is doing,
//! who waits in an inbox, what each queue holds. Built only by folding trace events, one at a
//! time, so the picture can never disagree with the run.

use std::collections::{BTreeMap, BTreeSet};

use callflow_sim::{
    Envelope, Event, EventKind, JobId, LinkId, Model, MsgId, NodeId, Payload, QueueId, SimDuration,
    SimTime, TopicId,
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
    /// Crashed and not yet recovered.
    pub down: bool,
    /// Work takes this many percent of its processing time; `None` when it takes 100.
    pub slow_percent: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueScene {
    /// Waiting for delivery, oldest first.
    pub ready: Vec<MsgId>,
    /// Delivered, not yet acked.
    pub unacked: Vec<MsgId>,
    pub acked: u64,
}

/// One partition of a log's topic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartitionScene {
    /// Each record's key, by offset.
    pub keys: Vec<u32>,
    /// Records before this offset are committed.
    pub committed: u64,
    /// The member that reads it; none when every member is down.
    pub owner: Option<NodeId>,
    /// Each record's place in the order its topic received records, by offset.
    pub places: Vec<u64>,
}

/// Whether a log's consumers have finished each key's records in the order the log received
/// them, judged from their commits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderCheck {
    /// Commits seen.
    pub finished: u64,
    /// The first key seen out of order: (key, the place of the record finished late, the
    /// place of the later record finished before it), places counting from 1.
    pub broken: Option<(u32, u64, u64)>,
    /// The latest place finished, per key.
    last: BTreeMap<u32, u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    /// Envelopes on the wire, as their `Sent` events described them.
    pub wire: BTreeMap<MsgId, Envelope>,
    pub nodes: Vec<NodeScene>,
    pub queues: BTreeMap<QueueId, QueueScene>,
    pub partitions: BTreeMap<(TopicId, u32), PartitionScene>,
    /// Records appended to any topic so far.
    pub appended: u64,
    pub order: OrderCheck,
    /// Links that lose some of what they carry: per thousand, by link.
    pub link_loss: BTreeMap<LinkId, u16>,
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
                if let Payload::Commit { topic, partition, offset } = payload {
                    self.finished(topic, partition, offset);
                }
            }
            EventKind::Received { msg, .. } | EventKind::Dropped { msg, .. } => {
                self.wire.remove(&msg);
            }
            EventKind::Crashed { node } => {
                let n = self.node(node);
                n.workers.clear();
                n.inbox.clear();
                n.down = true;
                // A broker takes back its unacked deliveries: Requeued events follow.
            }
            EventKind::Recovered { node } => self.node(node).down = false,
            EventKind::Slowed { node, percent } => {
                self.node(node).slow_percent = (percent != 100).then_some(percent);
            }
            EventKind::LinkLossChanged { link, per_mille } => {
                if per_mille == 0 {
                    self.link_loss.remove(&link);
                } else {
                    self.link_loss.insert(link, per_mille);
                }
            }
            EventKind::JobLost { node, job } => {
                self.node(node).inbox.remove(&job);
            }
            // A refused message was never in the queue; a dropped one was its oldest.
            EventKind::Overflowed { queue, message, dropped_oldest: true } => {
                remove_one(&mut self.queues.entry(queue).or_default().ready, message);
            }
            EventKind::Overflowed { dropped_oldest: false, .. } => {}
            EventKind::DeadLettered { queue, message, .. } => {
                remove_one(&mut self.queues.entry(queue).or_default().unacked, message);
            }
            EventKind::Requeued { queue, message, .. } => {
                let q = self.queues.entry(queue).or_default();
                remove_one(&mut q.unacked, message);
                q.ready.insert(0, message);
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
                // A retry is the same call: the wait counts from its first attempt.
                let since = match self.node(node).workers.get(&worker) {
                    Some(Activity::Blocked { since, .. }) => *since,
                    _ => e.at,
                };
                self.node(node).workers.insert(worker, Activity::Blocked { since, callee });
            }
            EventKind::ConfirmAwaited { node, worker, publish, .. } => {
                let callee = self.wire.get(&publish).map_or(node, |t| t.to);
                self.node(node).workers.insert(worker, Activity::Blocked { since: e.at, callee });
            }
            EventKind::PublishConfirmed { node, worker, .. } => {
                self.node(node).workers.remove(&worker);
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
                remove_one(&mut q.ready, message);
                q.unacked.push(message);
            }
            EventKind::Acked { queue, message, .. } => {
                let q = self.queues.entry(queue).or_default();
                remove_one(&mut q.unacked, message);
                q.acked += 1;
            }
            EventKind::Appended { topic, partition, key, .. } => {
                let p = self.partitions.entry((topic, partition)).or_default();
                p.keys.push(key);
                p.places.push(self.appended);
                self.appended += 1;
            }
            EventKind::Committed { topic, partition, offset } => {
                let p = self.partitions.entry((topic, partition)).or_default();
                p.committed = p.committed.max(offset + 1);
            }
            EventKind::Assigned { topic, partition, consumer } => {
                self.partitions.entry((topic, partition)).or_default().owner = consumer;
            }
            EventKind::Triggered { .. }
            | EventKind::Subscribed { .. }
            | EventKind::Unsubscribed { .. }
            | EventKind::Notified { .. }
            | EventKind::Arrived { .. }
            | EventKind::CallTimedOut { .. }
            | EventKind::CallBackoff { .. }
            | EventKind::CallFailed { .. }
            | EventKind::Replayed { .. }
            | EventKind::Discarded { .. }
            | EventKind::Partitioned { .. }
            | EventKind::Healed { .. }
            | EventKind::LinkLatencyChanged { .. }
            | EventKind::ProcessingChanged { .. }
            // The Requeued or DeadLettered event that follows moves the message.
            | EventKind::Nacked { .. }
            | EventKind::DuplicateSkipped { .. }
            // A failed publish's job ends with JobDone; the relay is not drawn.
            | EventKind::PublishFailed { .. }
            | EventKind::OutboxStored { .. }
            | EventKind::OutboxRelayed { .. } => {}
        }
    }

    /// A member finished the record at `offset` and commits it: check its key's order.
    fn finished(&mut self, topic: TopicId, partition: u32, offset: u64) {
        let Some(p) = self.partitions.get(&(topic, partition)) else { return };
        let (Some(&key), Some(&place)) =
            (p.keys.get(offset as usize), p.places.get(offset as usize))
        else {
            return;
        };
        let o = &mut self.order;
        o.finished += 1;
        let last = o.last.entry(key).or_insert(place);
        if place < *last && o.broken.is_none() {
            o.broken = Some((key, place + 1, *last + 1));
        }
        *last = (*last).max(place);
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

/// Removes the oldest copy of `message`: a queue can hold a message twice, when its
/// publisher sent it again under the same id.
fn remove_one(list: &mut Vec<MsgId>, message: MsgId) {
    if let Some(at) = list.iter().position(|m| *m == message) {
        list.remove(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callflow_sim::scenario::Disruption;
    use callflow_sim::{figures, Sim};

    /// Folds every new event into `scene` and checks it agrees with the run: the same
    /// envelopes on the wire, the same counts in each queue.
    fn follow(sim: &Sim, scene: &mut Scene, seen: &mut u64) {
        for e in sim.trace().since(*seen) {
            scene.apply(e);
            *seen = e.seq + 1;
        }
        let wire: Vec<MsgId> = sim.in_flight().map(|e| e.id).collect();
        assert_eq!(scene.wire.keys().copied().collect::<Vec<_>>(), wire);
        for (q, held) in &scene.queues {
            assert_eq!(sim.queue_holding(*q), Some((held.ready.len(), held.unacked.len())));
        }
    }

    /// A starts `jobs` jobs, `steps` events apart, with the scene following every event.
    fn busy(sim: &mut Sim, scene: &mut Scene, seen: &mut u64, a: NodeId, jobs: u32, steps: u32) {
        for _ in 0..jobs {
            sim.trigger(a).unwrap();
            follow(sim, scene, seen);
            for _ in 0..steps {
                sim.step();
                follow(sim, scene, seen);
            }
        }
    }

    #[test]
    fn the_scene_agrees_with_the_run_through_crashes_losses_partitions_and_retries() {
        // A caller that gives up, retries and sends keys, so that retries happen too.
        let mut scenario = figures::hybrid();
        if let callflow_sim::scenario::NodeSpec::Service(a) = &mut scenario.nodes[0] {
            a.client = callflow_sim::scenario::ClientSpec {
                timeout_ms: Some(200.0),
                retries: 2,
                backoff_ms: 50.0,
                jitter: 0.2,
                idempotency_key: true,
            };
        }
        let model = scenario.validate().unwrap();
        let (a, b, broker, c) = (NodeId(0), NodeId(1), NodeId(2), NodeId(3));
        let mut sim = Sim::from_model(model.clone(), 10_000);
        let mut scene = Scene::new(&model);
        let mut seen = 0;
        let faults = [
            Disruption::Crash(c),
            Disruption::LinkLoss(LinkId(0), 500),
            Disruption::Recover(c),
            Disruption::Crash(broker),
            Disruption::Partition(a, b),
            Disruption::Recover(broker),
            Disruption::Heal(b, a),
            Disruption::Crash(b),
            Disruption::Recover(b),
        ];
        for (i, d) in faults.into_iter().enumerate() {
            busy(&mut sim, &mut scene, &mut seen, a, 3, 7);
            sim.disrupt(d).unwrap();
            follow(&sim, &mut scene, &mut seen);
            assert_eq!(scene.nodes[c.0 as usize].down, sim.is_down(c), "after fault {i}");
            assert_eq!(scene.nodes[broker.0 as usize].down, sim.is_down(broker));
        }
        while sim.step().is_some() {
            follow(&sim, &mut scene, &mut seen);
        }
        assert!(scene.wire.is_empty());
        let retried = sim.trace().since(0).any(|e| matches!(e.kind, EventKind::CallBackoff { .. }));
        assert!(retried, "the run had retries for the scene to follow");
    }

    #[test]
    fn the_scene_agrees_with_the_run_through_nacks_fan_out_and_each_publish_mode() {
        use callflow_sim::scenario::{ExchangeSpec, NodeSpec, PublishMode, QueueSpec, Step};
        let modes = [
            PublishMode::FireAndForget,
            PublishMode::AwaitConfirm { timeout_ms: 150.0 },
            PublishMode::Outbox { retry_ms: 150.0 },
        ];
        for mode in modes {
            // B publishes through an exchange to C's queue and to a second queue that C
            // competes for alone, through the mode under test; C is an idempotent consumer.
            let mut scenario = figures::hybrid();
            for n in &mut scenario.nodes {
                match n {
                    NodeSpec::Service(svc) if svc.id == "b" => {
                        svc.on_request = vec![
                            Step::Work,
                            Step::Publish {
                                broker: "broker".into(),
                                queue: String::new(),
                                exchange: Some("all".into()),
                                mode,
                            },
                        ];
                    }
                    NodeSpec::Service(svc) if svc.id == "c" => svc.idempotent_consumer = true,
                    NodeSpec::Broker(b) => {
                        b.queues.push(QueueSpec {
                            name: "more".into(),
                            consumers: vec!["c".into()],
                            prefetch: 2,
                            max_length: Some(1),
                            ..QueueSpec::default()
                        });
                        b.exchanges = vec![ExchangeSpec {
                            name: "all".into(),
                            queues: vec!["events".into(), "more".into()],
                        }];
                    }
                    _ => {}
                }
            }
            let model = scenario.validate().unwrap();
            let (a, b, broker, c) = (NodeId(0), NodeId(1), NodeId(2), NodeId(3));
            let mut sim = Sim::from_model(model.clone(), 10_000);
            let mut scene = Scene::new(&model);
            let mut seen = 0;
            let faults = [
                Disruption::Crash(broker),
                Disruption::Recover(broker),
                Disruption::Crash(c),
                Disruption::Crash(b),
                Disruption::Recover(c),
                Disruption::Recover(b),
            ];
            for d in faults {
                busy(&mut sim, &mut scene, &mut seen, a, 2, 9);
                sim.disrupt(d).unwrap();
                follow(&sim, &mut scene, &mut seen);
            }
            while sim.step().is_some() {
                follow(&sim, &mut scene, &mut seen);
            }
            assert!(scene.wire.is_empty());
            let fanned = sim
                .trace()
                .since(0)
                .any(|e| matches!(e.kind, EventKind::Enqueued { queue, .. } if queue.index == 1));
            assert!(fanned, "{mode:?}: the exchange gave the second queue its copies");
        }
    }
}
