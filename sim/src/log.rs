//! A partitioned log in the style of Kafka: topics split into partitions, each an append-only
//! sequence of records that consumers read in order and commit as they go.
//!
//! - A producer's record carries a key. The log picks its partition from the key (the same key
//!   always lands in the same partition) or round robin (ignoring the key), appends it at the
//!   partition's next offset, and acknowledges with the partition and offset.
//! - A topic has one consumer group. Each partition belongs to one member at a time, shared out
//!   among the members that are up, in turn. The owner gets the partition's records one at a
//!   time, in offset order: the next goes out when the owner's commit for the last comes back.
//!   Order therefore holds within a partition, and so per key when partitioning by key; across
//!   partitions nothing orders anything, so round robin gives up per-key order too.
//! - When a member crashes, its partitions go to the members still up, and each starts again
//!   from its last commit: a record that was processed but whose commit did not arrive is
//!   processed again, marked as redelivered (at least once). When a member comes back, a
//!   partition that should move to it moves once its current owner has nothing in flight, so
//!   that two members never work on one partition at once.
//! - Records are durable. When the log crashes, what it had sent out and not yet seen committed
//!   goes out again from the last commit once it is back; whatever reaches it while down is lost.
//!
//! # Limitations
//! The log takes no time and keeps every record. A consumer gets one record per partition at a
//! time (no batches). A record whose job failed is committed all the same: a log has no nack,
//! and what to do with a failed record is the consumer's business.

use crate::engine::{Ctx, Envelope};
use crate::scenario::{Log, NodeId, Partitioner, TopicId};
use crate::trace::{EventKind, MsgId, Payload};

#[derive(Clone, Debug, Default)]
struct PartitionState {
    /// Every record appended, by offset: its id and key.
    records: Vec<(MsgId, u32)>,
    /// The first offset not committed: where a new owner starts.
    committed: u64,
    /// The offset out to the owner and not yet committed, if any.
    in_flight: Option<u64>,
    /// The highest offset ever sent out, to mark what goes out again.
    sent_up_to: Option<u64>,
    owner: Option<NodeId>,
}

#[derive(Clone, Debug, Default)]
struct TopicState {
    partitions: Vec<PartitionState>,
    /// The next partition for round robin.
    turn: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct LogState {
    node: NodeId,
    topics: Vec<TopicState>,
}

impl LogState {
    pub fn new(node: NodeId, spec: &Log) -> LogState {
        let topics = spec
            .topics
            .iter()
            .map(|t| TopicState {
                partitions: vec![PartitionState::default(); t.partitions as usize],
                turn: 0,
            })
            .collect();
        LogState { node, topics }
    }

    fn topic_id(&self, index: usize) -> TopicId {
        TopicId { log: self.node, index: index as u16 }
    }

    /// Shares out every topic's partitions among the members that are up; run at the start and
    /// whenever a member or the log goes down or comes back.
    pub fn rebalance(&mut self, up: &dyn Fn(NodeId) -> bool, spec: &Log, cx: &mut Ctx) {
        for (t, def) in spec.topics.iter().enumerate() {
            let live: Vec<NodeId> =
                def.consumers.iter().map(|&(n, _)| n).filter(|&n| up(n)).collect();
            for p in 0..def.partitions as usize {
                let wanted = (!live.is_empty()).then(|| live[p % live.len()]);
                let part = &mut self.topics[t].partitions[p];
                if part.owner == wanted {
                    continue;
                }
                // A live owner keeps the partition until its record in flight is committed.
                if part.owner.is_some_and(up) && part.in_flight.is_some() {
                    continue;
                }
                self.reassign(t, p, wanted, spec, cx);
            }
        }
    }

    /// Gives the partition to `owner`, which starts from the last commit.
    fn reassign(&mut self, t: usize, p: usize, owner: Option<NodeId>, spec: &Log, cx: &mut Ctx) {
        let topic = self.topic_id(t);
        let part = &mut self.topics[t].partitions[p];
        part.owner = owner;
        part.in_flight = None;
        cx.note(EventKind::Assigned { topic, partition: p as u32, consumer: owner });
        self.feed(t, p, spec, cx);
    }

    /// A record arrived from a producer: append it and say where it went.
    pub fn produce(&mut self, env: &Envelope, topic: TopicId, key: u32, spec: &Log, cx: &mut Ctx) {
        let (record, from, link) = (env.id, env.from, env.link);
        let t = topic.index as usize;
        let def = &spec.topics[t];
        let state = &mut self.topics[t];
        let partition = match def.partitioner {
            Partitioner::ByKey => key_partition(key, def.partitions),
            Partitioner::RoundRobin => {
                let p = state.turn;
                state.turn = (state.turn + 1) % def.partitions;
                p
            }
        };
        let part = &mut state.partitions[partition as usize];
        let offset = part.records.len() as u64;
        part.records.push((record, key));
        cx.note(EventKind::Appended { topic, partition, offset, record, key });
        cx.send(self.node, from, link, Payload::Produced { record, partition, offset });
        self.feed(t, partition as usize, spec, cx);
    }

    /// A commit arrived. It counts only from the partition's owner for the record in flight;
    /// anything else (a commit from a member that lost the partition) changes nothing: `false`.
    /// `at` is the topic, partition and offset the commit names.
    pub fn commit(
        &mut self,
        from: NodeId,
        at: (TopicId, u32, u64),
        up: &dyn Fn(NodeId) -> bool,
        spec: &Log,
        cx: &mut Ctx,
    ) -> bool {
        let (topic, partition, offset) = at;
        let (t, p) = (topic.index as usize, partition as usize);
        let part = &mut self.topics[t].partitions[p];
        if part.owner != Some(from) || part.in_flight != Some(offset) {
            return false;
        }
        part.in_flight = None;
        part.committed = offset + 1;
        cx.note(EventKind::Committed { topic, partition, offset });
        // A move that waited for this commit happens now.
        self.rebalance(up, spec, cx);
        self.feed(t, p, spec, cx);
        true
    }

    /// Sends the partition's next record to its owner, if it has none in flight.
    fn feed(&mut self, t: usize, p: usize, spec: &Log, cx: &mut Ctx) {
        let topic = self.topic_id(t);
        let part = &mut self.topics[t].partitions[p];
        let Some(owner) = part.owner else { return };
        if part.in_flight.is_some() {
            return;
        }
        let offset = part.committed;
        if part.records.get(offset as usize).is_none() {
            return;
        }
        let redelivered = part.sent_up_to.is_some_and(|s| s >= offset);
        part.sent_up_to = Some(part.sent_up_to.map_or(offset, |s| s.max(offset)));
        part.in_flight = Some(offset);
        let Some(&(_, link)) = spec.topics[t].consumers.iter().find(|&&(n, _)| n == owner) else {
            debug_assert!(false, "a partition owned by a node outside its group");
            return;
        };
        let payload = Payload::Record { topic, partition: p as u32, offset, redelivered };
        cx.send(self.node, owner, link, payload);
    }

    /// The log crashed: what is in flight will be sent again from the last commit.
    pub fn crash(&mut self) {
        for topic in &mut self.topics {
            for part in &mut topic.partitions {
                part.in_flight = None;
            }
        }
    }

    /// The log is back: share out the partitions and send from each one's last commit.
    pub fn recover(&mut self, up: &dyn Fn(NodeId) -> bool, spec: &Log, cx: &mut Ctx) {
        self.rebalance(up, spec, cx);
        for t in 0..self.topics.len() {
            for p in 0..self.topics[t].partitions.len() {
                self.feed(t, p, spec, cx);
            }
        }
    }

    /// A topic partition's records: (appended, committed).
    pub fn holding(&self, topic: TopicId, partition: u32) -> Option<(u64, u64)> {
        let part = self.topics.get(topic.index as usize)?.partitions.get(partition as usize)?;
        Some((part.records.len() as u64, part.committed))
    }
}

/// The partition a key lands in: the same key always in the same one. Kafka hashes the key's
/// bytes; a key here is a small number, and taking it modulo the partitions spreads a few keys
/// as evenly as they can be, so that every partition (and every consumer) gets some.
pub fn key_partition(key: u32, partitions: u32) -> u32 {
    key % partitions.max(1)
}
