//! The invariants of every run, checked event by event from the trace, for the scenario
//! tests in `sim.rs` and the property tests in `properties.rs`.

use std::collections::{BTreeMap, BTreeSet};

use callflow_sim::scenario::Partitioner;
use callflow_sim::trace::DropReason;
use callflow_sim::{Event, EventKind, MsgId, Payload, QueueId, Sim, SimTime, TopicId};

/// Replays the trace one event at a time and checks what must hold at every point.
#[derive(Default)]
pub struct Checker {
    pub sent: BTreeMap<MsgId, Event>,
    pub received: BTreeSet<MsgId>,
    /// Envelopes that never arrived, with why.
    pub dropped: BTreeMap<MsgId, DropReason>,
    /// Messages whose publish reached the broker.
    pub arrived: BTreeSet<MsgId>,
    /// Messages ever stored in a queue, or refused by a full one.
    pub published: BTreeSet<MsgId>,
    /// Messages acked at least once.
    pub acked: BTreeSet<MsgId>,
    /// Messages a full queue refused or dropped.
    pub overflowed: BTreeSet<MsgId>,
    /// Copies each queue holds of each message, by the trace: stored, less those acked,
    /// dropped or moved to a dead-letter queue. A message can have a copy in several queues
    /// (an exchange) and several in one (a publisher that sent it again).
    pub held: BTreeMap<(QueueId, MsgId), usize>,
    /// Per partition of a log's topic: records appended, and records committed.
    pub appended: BTreeMap<(TopicId, u32), u64>,
    pub committed: BTreeMap<(TopicId, u32), u64>,
    /// The partition each key of a topic went to, the first time.
    pub key_partition: BTreeMap<(TopicId, u32), u32>,
    pub last_at: SimTime,
    pub seen: u64,
}

impl Checker {
    pub fn feed(&mut self, sim: &Sim) {
        for e in sim.trace().since(self.seen) {
            assert_eq!(e.seq, self.seen, "trace seqs run without gaps");
            assert!(e.at >= self.last_at, "time never goes back: {e:?}");
            self.seen += 1;
            self.last_at = e.at;
            self.event(e);
            if let EventKind::Appended { topic, partition, key, .. } = e.kind {
                // By key, one key goes to one partition, always.
                let by_key = sim.model().topic(topic).map(|t| t.partitioner);
                let first = *self.key_partition.entry((topic, key)).or_insert(partition);
                if by_key == Some(Partitioner::ByKey) {
                    assert_eq!(first, partition, "key {key} stays in one partition");
                }
            }
        }

        // Every partition holds what the trace appended to it, and has committed what the
        // trace says, no more.
        for (&(topic, partition), &appended) in &self.appended {
            let committed = self.committed.get(&(topic, partition)).copied().unwrap_or(0);
            assert_eq!(sim.partition_holding(topic, partition), Some((appended, committed)));
        }

        // Every envelope sent is received, dropped with a reason, or still on the wire, and
        // nothing else is on it.
        let on_wire: BTreeSet<MsgId> = sim.in_flight().map(|e| e.id).collect();
        let neither: BTreeSet<MsgId> = self
            .sent
            .keys()
            .filter(|m| !self.received.contains(m) && !self.dropped.contains_key(m))
            .copied()
            .collect();
        assert_eq!(on_wire, neither);

        // Every queue holds exactly the copies the trace says it stored and has not let go:
        // each published copy is waiting, delivered and unacked, acked, dropped, or moved.
        for q in sim.model().queue_ids() {
            let (ready, unacked) = sim.queue_holding(q).expect("queue exists");
            let held: usize =
                self.held.range((q, MsgId(0))..=(q, MsgId(u64::MAX))).map(|(_, n)| n).sum();
            assert_eq!(ready + unacked, held, "{q:?}");
        }
    }

    fn event(&mut self, e: &Event) {
        match &e.kind {
            EventKind::Sent { msg, arrives, payload, .. } => {
                assert!(*arrives >= e.at);
                assert!(self.sent.insert(*msg, e.clone()).is_none(), "ids are unique");
                if let Payload::Ack { message, .. } | Payload::Nack { message, .. } = payload {
                    assert!(self.published.contains(message), "ack of a published message");
                }
            }
            EventKind::Received { msg, .. } => {
                let sent = self.sent.get(msg).expect("nothing is received before it was sent");
                let EventKind::Sent { arrives, payload, .. } = sent.kind else { unreachable!() };
                assert_eq!(e.at, arrives, "received when the link said it would be");
                assert!(!self.dropped.contains_key(msg), "not received after a drop");
                assert!(self.received.insert(*msg), "received once");
                match payload {
                    Payload::Publish { .. } => self.arrived.insert(*msg),
                    Payload::PublishTo { message, .. } => self.arrived.insert(message),
                    _ => false,
                };
            }
            EventKind::Dropped { msg, reason, .. } => {
                let sent = self.sent.get(msg).expect("nothing is dropped before it was sent");
                let EventKind::Sent { arrives, .. } = sent.kind else { unreachable!() };
                assert_eq!(e.at, arrives, "dropped when it would have arrived");
                assert!(!self.received.contains(msg), "not dropped after it arrived");
                assert!(self.dropped.insert(*msg, *reason).is_none(), "dropped once");
            }
            EventKind::Discarded { msg, .. } => {
                assert!(self.received.contains(msg), "only what arrived is discarded");
            }
            EventKind::Enqueued { queue, message, .. } => {
                assert!(self.arrived.contains(message), "stored after the publish arrived");
                self.published.insert(*message);
                *self.held.entry((*queue, *message)).or_default() += 1;
            }
            EventKind::Acked { queue, message, .. } => {
                self.let_go(*queue, *message, "acked");
                self.acked.insert(*message);
            }
            EventKind::DeadLettered { queue, message, .. } => {
                self.let_go(*queue, *message, "dead-lettered");
            }
            EventKind::Overflowed { queue, message, dropped_oldest, .. } => {
                if *dropped_oldest {
                    self.let_go(*queue, *message, "dropped");
                } else {
                    assert!(self.arrived.contains(message), "refused after the publish arrived");
                }
                self.published.insert(*message);
                self.overflowed.insert(*message);
            }
            EventKind::Appended { topic, partition, offset, .. } => {
                let n = self.appended.entry((*topic, *partition)).or_default();
                assert_eq!(*offset, *n, "offsets run 0, 1, 2, ... in each partition");
                *n += 1;
            }
            EventKind::Committed { topic, partition, offset } => {
                // Each record committed once, in offset order: so one key's records, which
                // share a partition by key, are first finished in the order they came.
                let n = self.committed.entry((*topic, *partition)).or_default();
                assert_eq!(*offset, *n, "commits run 0, 1, 2, ... in each partition");
                *n += 1;
                let appended = self.appended.get(&(*topic, *partition)).copied().unwrap_or(0);
                assert!(*n <= appended, "only appended records are committed");
            }
            _ => {}
        }
    }

    /// A queue lets go of a copy of `message`: it must have held one.
    fn let_go(&mut self, queue: QueueId, message: MsgId, how: &str) {
        let n = self.held.entry((queue, message)).or_default();
        assert!(*n > 0, "{how} a copy the queue did not hold: {message:?}");
        *n -= 1;
    }
}
