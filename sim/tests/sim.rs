//! The simulator's rules, checked from the outside: only through the public API and the trace.
//! Every test runs natively (`cargo test`) and in wasm (`wasm-pack test --node sim`).

use std::collections::{BTreeMap, BTreeSet};

use callflow_sim::scenario::{
    AckMode, Arrivals, ClientSpec, Disruption, LatencySpec, NodeSpec, Overflow, Step, WorkloadSpec,
};
use callflow_sim::trace::DropReason;
use callflow_sim::{
    figures, Event, EventKind, LinkId, MsgId, NodeId, Payload, Problem, Scenario, Sim, SimDuration,
    SimTime,
};
use wasm_bindgen_test::wasm_bindgen_test;

mod checker;
use checker::Checker;

fn ms(v: u64) -> SimTime {
    SimTime::from_micros(v * 1000)
}

fn node(sim: &Sim, id: &str) -> NodeId {
    sim.model().node_named(id).expect("figure has this node")
}

fn events(sim: &Sim) -> Vec<Event> {
    assert_eq!(sim.trace().first_kept(), 0, "the test needs the whole trace");
    sim.trace().since(0).cloned().collect()
}

/// Runs `scenario`, triggering `a` at each of `at` (milliseconds), until idle.
fn run(scenario: &Scenario, at: &[u64]) -> Sim {
    let mut sim = Sim::new(scenario).expect("valid scenario");
    let a = node(&sim, "a");
    for &t in at {
        sim.run_until(ms(t));
        sim.trigger(a).expect("a is a service");
    }
    sim.run_until_idle(100_000);
    sim
}

/// Steps one event at a time, checking after each.
fn step_checked(sim: &mut Sim, max: usize) -> Checker {
    let mut c = Checker::default();
    c.feed(sim);
    for _ in 0..max {
        let due = sim.next_due();
        match sim.step() {
            Some(t) => assert_eq!(Some(t), due, "step runs the earliest event"),
            None => break,
        }
        c.feed(sim);
    }
    c
}

/// `fig` with every latency and processing time drawn at random, and `seed`.
fn drawn_at_random(fig: Scenario, seed: u64) -> Scenario {
    let mut s = with_latencies(
        fig,
        LatencySpec::Exponential { mean_ms: 20.0 },
        LatencySpec::Exponential { mean_ms: 50.0 },
    );
    s.seed = seed;
    s
}

fn with_latencies(mut s: Scenario, link: LatencySpec, work: LatencySpec) -> Scenario {
    for l in &mut s.links {
        l.latency = link;
    }
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            svc.processing = work;
        }
    }
    s
}

fn set_processing(s: &mut Scenario, id: &str, ms: f64) {
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            if svc.id == id {
                svc.processing = LatencySpec::Constant { ms };
            }
        }
    }
}

/// FNV-1a, 64 bits: a hash whose definition fits in a line and never changes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn random_hybrid(seed: u64) -> Scenario {
    let mut s = with_latencies(
        figures::hybrid(),
        LatencySpec::Exponential { mean_ms: 35.0 },
        LatencySpec::Uniform { min_ms: 10.0, max_ms: 300.0 },
    );
    s.seed = seed;
    s
}

#[wasm_bindgen_test(unsupported = test)]
fn same_seed_same_trace() {
    let at = [0, 5, 10, 400, 401, 2000];
    let one = events(&run(&random_hybrid(7), &at));
    let two = events(&run(&random_hybrid(7), &at));
    assert_eq!(one, two);
    let other = events(&run(&random_hybrid(8), &at));
    assert_ne!(one, other, "the seed matters when latencies are drawn");
}

/// The same number natively and in wasm: the run depends on nothing but its inputs.
#[wasm_bindgen_test(unsupported = test)]
fn trace_hash_is_the_same_everywhere() {
    let sim = run(&random_hybrid(7), &[0, 5, 10, 400, 401, 2000]);
    let json = serde_json::to_string(&events(&sim)).expect("trace serializes");
    assert_eq!(sim.trace().len(), 185);
    assert_eq!(fnv1a(json.as_bytes()), 1_797_063_322_905_560_016);
}

#[wasm_bindgen_test(unsupported = test)]
fn invariants_hold_at_every_step_on_many_seeds() {
    for seed in 0..40 {
        for fig in [figures::request_response(), figures::broker(), figures::hybrid()] {
            let s = drawn_at_random(fig, seed);
            let mut sim = Sim::new(&s).unwrap();
            let a = node(&sim, "a");
            let mut c = Checker::default();
            // Triggers land between events, as a reader's clicks would.
            let mut r = callflow_sim::rng::Rng::new(seed);
            for _ in 0..12 {
                sim.run_until(sim.now() + SimDuration::from_micros(r.between(0, 80_000)));
                c.feed(&sim);
                sim.trigger(a).unwrap();
                c.feed(&sim);
            }
            let rest = step_checked(&mut sim, 10_000);
            assert!(sim.next_due().is_none(), "the run ends");
            assert_eq!(rest.sent.len(), rest.received.len(), "everything arrived in the end");
            assert_eq!(rest.published, rest.acked, "every message was consumed in the end");
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn invariants_hold_at_every_step_under_random_faults() {
    let mut drops = BTreeMap::new();
    let mut overflows = 0;
    for seed in 0..40 {
        for fig in [figures::request_response(), figures::broker(), figures::hybrid()] {
            let mut s = drawn_at_random(fig, seed);
            // Callers that give up, retry with jitter, and on odd seeds send keys; queues
            // that are bounded, refusing or dropping by turns, and on some seeds ack on receipt.
            for n in &mut s.nodes {
                if let NodeSpec::Broker(b) = n {
                    for q in &mut b.queues {
                        q.max_length = Some(2);
                        q.overflow = if seed % 2 == 0 {
                            Overflow::RejectPublish
                        } else {
                            Overflow::DropOldest
                        };
                        q.ack = if seed % 3 == 0 { AckMode::OnReceipt } else { AckMode::AfterWork };
                    }
                }
                if let NodeSpec::Service(svc) = n {
                    svc.client = ClientSpec {
                        timeout_ms: Some(150.0),
                        retries: 2,
                        backoff_ms: 50.0,
                        jitter: 0.5,
                        idempotency_key: seed % 2 == 1,
                    };
                }
            }
            let mut sim = Sim::new(&s).unwrap();
            let a = node(&sim, "a");
            let nodes = sim.model().nodes.len() as u64;
            let links = sim.model().links.len() as u64;
            let mut c = Checker::default();
            let mut r = callflow_sim::rng::Rng::new(seed + 1000);
            for _ in 0..30 {
                sim.run_until(sim.now() + SimDuration::from_micros(r.between(0, 60_000)));
                c.feed(&sim);
                let n = NodeId(r.between(0, nodes - 1) as u16);
                let m = NodeId(r.between(0, nodes - 1) as u16);
                let d = match r.between(0, 6) {
                    0 | 1 => Disruption::Crash(n),
                    2 => Disruption::Recover(n),
                    3 => Disruption::LinkLoss(
                        LinkId(r.between(0, links - 1) as u16),
                        r.between(0, 1000) as u16,
                    ),
                    4 if n != m => Disruption::Partition(n, m),
                    5 if n != m => Disruption::Heal(n, m),
                    _ => {
                        let _ = sim.trigger(a);
                        c.feed(&sim);
                        continue;
                    }
                };
                sim.disrupt(d).unwrap();
                c.feed(&sim);
                let _ = sim.trigger(a);
                c.feed(&sim);
            }
            // Everything comes back; what is left runs out.
            for i in 0..nodes {
                sim.disrupt(Disruption::Recover(NodeId(i as u16))).unwrap();
            }
            c.feed(&sim);
            for _ in 0..100_000 {
                if sim.step().is_none() {
                    break;
                }
                c.feed(&sim);
            }
            assert!(sim.next_due().is_none(), "the run ends");
            for reason in c.dropped.values() {
                *drops.entry(format!("{reason:?}")).or_insert(0) += 1;
            }
            overflows += c.overflowed.len();
        }
    }
    // The runs met every kind of drop, so the checks above saw them all.
    assert_eq!(drops.len(), 3, "{drops:?}");
    assert!(overflows > 0, "and full queues");
}

#[wasm_bindgen_test(unsupported = test)]
fn request_response_blocks_the_caller_for_the_whole_exchange() {
    let sim = run(&figures::request_response(), &[0]);
    let waited: Vec<SimDuration> = events(&sim)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::CallReturned { waited, .. } => Some(waited),
            _ => None,
        })
        .collect();
    // 60 ms there, 400 ms of B's work, 60 ms back.
    assert_eq!(waited, [SimDuration::from_millis(520)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_single_worker_caller_starts_no_other_call_while_blocked() {
    let mut sim = Sim::new(&figures::request_response()).unwrap();
    let a = node(&sim, "a");
    for _ in 0..3 {
        sim.trigger(a).unwrap();
    }
    step_checked(&mut sim, 1_000);

    let mut blocked = false;
    let mut calls = 0;
    for e in events(&sim) {
        match e.kind {
            EventKind::Sent { from, payload: Payload::HttpRequest { .. }, .. } if from == a => {
                assert!(!blocked, "a second request left while A was blocked");
                calls += 1;
            }
            EventKind::CallBlocked { node, .. } if node == a => blocked = true,
            EventKind::CallReturned { node, .. } if node == a => blocked = false,
            _ => {}
        }
    }
    assert_eq!(calls, 3, "the queued triggers ran in turn");
    let queued =
        events(&sim).iter().filter(|e| matches!(e.kind, EventKind::JobQueued { .. })).count();
    assert_eq!(queued, 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_publisher_publishes_again_while_earlier_messages_wait() {
    let mut sim = Sim::new(&figures::broker()).unwrap();
    let a = node(&sim, "a");
    let mut max_ready = 0;
    for t in [0, 100, 200, 300] {
        sim.run_until(ms(t));
        sim.trigger(a).unwrap();
    }
    sim.run_until(ms(400));
    for e in events(&sim) {
        if let EventKind::Enqueued { ready, .. } = e.kind {
            max_ready = max_ready.max(ready);
        }
        assert!(!matches!(e.kind, EventKind::CallBlocked { .. }), "nobody blocks in figure 2");
    }
    let published = events(&sim)
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Sent { payload: Payload::Publish { .. }, .. }))
        .count();
    assert_eq!(published, 4, "A published each time it was asked, at once");
    assert!(max_ready >= 2, "messages waited in the queue meanwhile ({max_ready})");

    // The consumer has finished none of them yet: A did not wait for it.
    let acked = events(&sim).iter().filter(|e| matches!(e.kind, EventKind::Acked { .. })).count();
    assert_eq!(acked, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_confirm_comes_from_the_broker_before_any_consumer_has_the_message() {
    let sim = run(&figures::broker(), &[0]);
    let ev = events(&sim);
    let broker = node(&sim, "broker");
    let confirm = ev
        .iter()
        .find(|e| matches!(e.kind, EventKind::Sent { payload: Payload::Confirm { .. }, .. }))
        .expect("a confirm");
    let EventKind::Sent { from, .. } = confirm.kind else { unreachable!() };
    assert_eq!(from, broker);
    let ack = ev.iter().find(|e| matches!(e.kind, EventKind::Acked { .. })).expect("an ack");
    assert!(confirm.at < ack.at);
}

/// When A's reply arrived, and when C finished its work.
fn hybrid_times(c_ms: f64) -> (SimTime, SimDuration, SimTime) {
    let mut s = figures::hybrid();
    set_processing(&mut s, "c", c_ms);
    let sim = run(&s, &[0]);
    let (a, c) = (node(&sim, "a"), node(&sim, "c"));
    let ev = events(&sim);
    let (replied, waited) = ev
        .iter()
        .find_map(|e| match e.kind {
            EventKind::CallReturned { node, waited, .. } if node == a => Some((e.at, waited)),
            _ => None,
        })
        .expect("A got its reply");
    let c_done = ev
        .iter()
        .find_map(|e| match e.kind {
            EventKind::WorkDone { node, .. } if node == c => Some(e.at),
            _ => None,
        })
        .expect("C did its work");
    (replied, waited, c_done)
}

#[wasm_bindgen_test(unsupported = test)]
fn hybrid_answers_a_before_slow_c_is_done_and_a_does_not_wait_for_c() {
    let (replied, waited_fast, _) = hybrid_times(10.0);
    let (replied_slow, waited_slow, c_done) = hybrid_times(5_000.0);
    assert!(replied_slow < c_done, "A had its reply before C finished");
    assert_eq!(replied, replied_slow);
    // 60 ms there, 250 ms of B's work, 60 ms back; C's time is not in it.
    assert_eq!(waited_fast, SimDuration::from_millis(370));
    assert_eq!(waited_slow, waited_fast);
}

#[wasm_bindgen_test(unsupported = test)]
fn hybrid_b_publishes_before_it_answers() {
    let sim = run(&figures::hybrid(), &[0]);
    let b = node(&sim, "b");
    let ev = events(&sim);
    let position = |want: fn(&Payload) -> bool| {
        ev.iter().position(|e| matches!(&e.kind, EventKind::Sent { from, payload, .. } if *from == b && want(payload)))
    };
    let publish = position(|p| matches!(p, Payload::Publish { .. })).expect("B published");
    let reply = position(|p| matches!(p, Payload::HttpResponse { .. })).expect("B replied");
    assert!(publish < reply);
    assert_eq!(ev[publish].at, ev[reply].at, "B did not wait between the two");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_new_latency_applies_to_new_messages_only() {
    let mut sim = Sim::new(&figures::request_response()).unwrap();
    let a = node(&sim, "a");
    sim.trigger(a).unwrap();
    let before: Vec<_> = sim.in_flight().map(|e| (e.id, e.arrives)).collect();
    sim.run_until(ms(10));
    sim.set_link_latency(callflow_sim::LinkId(0), LatencySpec::Constant { ms: 1000.0 }).unwrap();
    let after: Vec<_> = sim.in_flight().map(|e| (e.id, e.arrives)).collect();
    assert_eq!(before, after, "the request on the wire keeps its arrival time");
    sim.run_until_idle(1_000);
    let response = events(&sim)
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::Sent { payload: Payload::HttpResponse { .. }, arrives, .. } => {
                Some(arrives - e.at)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(response, SimDuration::from_millis(1000), "the response took the new latency");
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_settings_are_errors_and_change_nothing() {
    let mut sim = Sim::new(&figures::hybrid()).unwrap();
    let before = sim.model().clone();
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
        let err = sim
            .set_link_latency(callflow_sim::LinkId(0), LatencySpec::Constant { ms: bad })
            .unwrap_err();
        assert!(matches!(err.problem(), Problem::BadDuration(_)), "{err}");
        assert!(sim.set_processing(node(&sim, "b"), LatencySpec::Constant { ms: bad }).is_err());
    }
    assert!(sim.set_processing(node(&sim, "broker"), LatencySpec::Constant { ms: 1.0 }).is_err());
    let err = sim
        .set_link_latency(callflow_sim::LinkId(99), LatencySpec::Constant { ms: 1.0 })
        .unwrap_err();
    assert_eq!(err.problem(), &Problem::UnknownLink(99));
    assert!(sim.trigger(NodeId(99)).is_err());
    assert_eq!(sim.model(), &before);
    assert!(sim.trace().is_empty());
}

fn first_service(s: &mut Scenario) -> &mut callflow_sim::scenario::ServiceSpec {
    s.nodes
        .iter_mut()
        .find_map(|n| match n {
            NodeSpec::Service(svc) => Some(svc),
            _ => None,
        })
        .unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_scenarios_are_typed_errors_that_name_the_field() {
    let mut unknown = figures::hybrid();
    first_service(&mut unknown).on_trigger = vec![Step::Call { service: "nobody".into() }];
    let err = Sim::new(&unknown).unwrap_err();
    assert_eq!(err.field(), "nodes[0].on_trigger[0].service");
    assert_eq!(err.problem(), &Problem::UnknownNode("nobody".into()));

    let mut negative = figures::request_response();
    negative.links[0].latency = LatencySpec::Constant { ms: -5.0 };
    assert_eq!(Sim::new(&negative).unwrap_err().field(), "links[0].latency.ms");

    let mut nan = figures::broker();
    first_service(&mut nan).processing = LatencySpec::Exponential { mean_ms: f64::NAN };
    assert_eq!(Sim::new(&nan).unwrap_err().field(), "nodes[0].processing.mean_ms");

    let mut zero = figures::request_response();
    first_service(&mut zero).workers = 0;
    let err = Sim::new(&zero).unwrap_err();
    assert_eq!(err.field(), "nodes[0].workers");
    assert_eq!(err.to_string(), "nodes[0].workers: must be between 1 and 1024");

    let mut no_link = figures::request_response();
    no_link.links.clear();
    assert!(matches!(Sim::new(&no_link).unwrap_err().problem(), Problem::NoLink { .. }));

    let mut wrong_protocol = figures::request_response();
    wrong_protocol.links[0].protocol = callflow_sim::Protocol::Amqp;
    assert!(matches!(Sim::new(&wrong_protocol).unwrap_err().problem(), Problem::NoLink { .. }));

    let mut dup = figures::hybrid();
    let copy = dup.nodes[0].clone();
    dup.nodes.push(copy);
    assert!(matches!(Sim::new(&dup).unwrap_err().problem(), Problem::Duplicate(_)));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_long_run_keeps_a_bounded_trace() {
    let s = figures::broker();
    let mut sim = Sim::from_model(s.validate().unwrap(), 500);
    let a = node(&sim, "a");
    for i in 0..1_000 {
        sim.run_until(ms(i * 10));
        sim.trigger(a).unwrap();
    }
    sim.run_until_idle(1_000_000);
    assert!(sim.trace().len() > 10_000);
    assert_eq!(sim.trace().since(0).count(), 500);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bounded_run_stops_at_its_budget_and_loses_nothing() {
    let mut s = figures::request_response();
    s.links[0].latency = LatencySpec::Constant { ms: 0.0 };
    let mut sim = Sim::new(&s).unwrap();
    let a = node(&sim, "a");
    for _ in 0..50 {
        sim.trigger(a).unwrap();
    }
    let mut c = Checker::default();
    let target = ms(100_000);
    let mut rounds = 0;
    while !sim.run_until_bounded(target, 7) {
        assert!(sim.now() < target, "the clock stays at the last event run");
        c.feed(&sim);
        rounds += 1;
    }
    c.feed(&sim);
    assert!(rounds > 10);
    assert_eq!(sim.now(), target);
    assert!(sim.next_due().is_none());
    let calls =
        events(&sim).iter().filter(|e| matches!(e.kind, EventKind::CallReturned { .. })).count();
    assert_eq!(calls, 50);
}

/// The times the broker saw acks, in order.
fn ack_times(sim: &Sim) -> Vec<SimTime> {
    events(sim).iter().filter(|e| matches!(e.kind, EventKind::Acked { .. })).map(|e| e.at).collect()
}

/// With prefetch 1 the consumer waits a round trip for each next message: a backlog drains one
/// message per processing time plus a round trip. With prefetch 2 the next message is already
/// there when the consumer is done, so the backlog drains one per processing time, the round
/// trip hidden; with two workers the consumer then does two at a time.
#[wasm_bindgen_test(unsupported = test)]
fn prefetch_sets_how_fast_a_backlog_drains() {
    let drain = |prefetch: u32, workers: u32| {
        let mut s = figures::broker();
        for n in &mut s.nodes {
            match n {
                NodeSpec::Broker(b) => b.queues[0].prefetch = prefetch,
                NodeSpec::Service(svc) if svc.id == "b" => svc.workers = workers,
                _ => {}
            }
        }
        let sim = run(&s, &[0, 0, 0, 0, 0, 0]);
        let acks = ack_times(&sim);
        assert_eq!(acks.len(), 6);
        acks.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    };

    // B works 900 ms; the broker-B link takes 40 ms each way.
    let one = drain(1, 1);
    assert!(one.iter().all(|&gap| gap == SimDuration::from_millis(980)), "{one:?}");

    let two = drain(2, 1);
    assert!(two.iter().all(|&gap| gap == SimDuration::from_millis(900)), "{two:?}");

    // Two workers, two in hand: acks come in pairs, one pair per 980 ms. Within a pair they are
    // 20 ms apart, as the publishes were: A works 20 ms between two.
    let pairs = drain(2, 2);
    for pair in pairs.chunks(2).filter(|c| c.len() == 2) {
        assert_eq!(
            pair,
            [SimDuration::from_millis(20), SimDuration::from_millis(960)],
            "{pairs:?}"
        );
    }
}

/// Figure 2 with a workload on A instead of the reader's clicks.
fn broker_with(arrivals: Arrivals, count: Option<u64>) -> Scenario {
    let mut s = figures::broker();
    s.workloads = vec![WorkloadSpec { service: "a".into(), arrivals, count }];
    s
}

fn arrivals(sim: &Sim) -> Vec<SimTime> {
    sim.trace()
        .since(0)
        .filter(|e| matches!(e.kind, EventKind::Arrived { .. }))
        .map(|e| e.at)
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_fixed_workload_arrives_on_the_beat_and_stops_at_its_count() {
    let mut sim = Sim::new(&broker_with(Arrivals::Fixed { every_ms: 250.0 }, Some(5))).unwrap();
    sim.run_until_idle(10_000);
    assert_eq!(arrivals(&sim), (0..5).map(|i| ms(i * 250)).collect::<Vec<_>>());
    let jobs_done_by_a = sim
        .trace()
        .since(0)
        .filter(|e| matches!(e.kind, EventKind::JobDone { node, .. } if node == NodeId(0)))
        .count();
    assert_eq!(jobs_done_by_a, 5, "each arrival is one of A's jobs");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_manual_workload_brings_nothing_by_itself() {
    let mut sim = Sim::new(&broker_with(Arrivals::Manual, None)).unwrap();
    assert_eq!(sim.next_due(), None);
    assert_eq!(sim.run_until_idle(100), 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_poisson_workload_arrives_at_its_rate() {
    // 20 a second for 2 000 arrivals: the mean gap is 50 ms, within a few percent.
    let mut s = broker_with(Arrivals::Poisson { per_s: 20.0 }, Some(2_000));
    first_service(&mut s).processing = LatencySpec::Constant { ms: 0.0 };
    let mut sim = Sim::from_model(s.validate().unwrap(), 100_000);
    sim.run_until_idle(1_000_000);
    let times = arrivals(&sim);
    assert_eq!(times.len(), 2_000);
    let mean_gap_ms = times.last().unwrap().as_millis_f64() / 1_999.0;
    assert!((mean_gap_ms - 50.0).abs() < 2.5, "mean gap {mean_gap_ms} ms");
    // Exponential gaps: about a third are longer than the mean (e^-1 = 0.37).
    let long = times.windows(2).filter(|w| (w[1] - w[0]).as_millis_f64() > 50.0).count();
    assert!((600..=880).contains(&long), "{long} gaps longer than the mean");
}

#[wasm_bindgen_test(unsupported = test)]
fn invariants_hold_under_a_random_workload() {
    for seed in 0..10 {
        let mut s = with_latencies(
            broker_with(Arrivals::Poisson { per_s: 30.0 }, Some(200)),
            LatencySpec::Exponential { mean_ms: 20.0 },
            LatencySpec::Exponential { mean_ms: 40.0 },
        );
        s.seed = seed;
        let mut sim = Sim::new(&s).unwrap();
        let rest = step_checked(&mut sim, 100_000);
        assert!(sim.next_due().is_none(), "the run ends");
        assert_eq!(rest.sent.len(), rest.received.len(), "everything arrived in the end");
        assert_eq!(rest.published.len(), 200, "every arrival published once");
        assert_eq!(rest.published, rest.acked, "every message was consumed in the end");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_workloads_are_typed_errors_that_name_the_field() {
    let err = |s: Scenario| Sim::new(&s).unwrap_err();
    let e = err(broker_with(Arrivals::Fixed { every_ms: 0.0 }, None));
    assert_eq!(e.field(), "workloads[0].arrivals.every_ms");
    assert_eq!(e.problem(), &Problem::BadGap(0.0));
    let e = err(broker_with(Arrivals::Poisson { per_s: f64::INFINITY }, None));
    assert_eq!(e.field(), "workloads[0].arrivals.per_s");
    assert!(matches!(
        err(broker_with(Arrivals::Poisson { per_s: -1.0 }, None)).problem(),
        Problem::BadRate(_)
    ));
    assert!(matches!(
        err(broker_with(Arrivals::Poisson { per_s: 2e9 }, None)).problem(),
        Problem::BadRate(_)
    ));
    let mut on_broker = broker_with(Arrivals::Manual, None);
    on_broker.workloads[0].service = "broker".into();
    assert_eq!(err(on_broker).problem(), &Problem::NotAService("broker".into()));
    let mut nobody = broker_with(Arrivals::Manual, None);
    nobody.workloads[0].service = "z".into();
    assert_eq!(err(nobody).field(), "workloads[0].service");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_workload_run_hashes_the_same_everywhere() {
    let mut s = broker_with(Arrivals::Poisson { per_s: 15.0 }, Some(40));
    s.seed = 7;
    let mut sim = Sim::new(&s).unwrap();
    sim.run_until_idle(100_000);
    let json = serde_json::to_string(&events(&sim)).expect("trace serializes");
    assert_eq!(sim.trace().len(), 817);
    assert_eq!(fnv1a(json.as_bytes()), 16_268_054_742_678_049_360);
}

/// The kinds of the events of a run, in order, from `from` on, as short names.
fn kinds_since(sim: &Sim, from: u64) -> Vec<&'static str> {
    sim.trace()
        .since(from)
        .map(|e| match e.kind {
            EventKind::Dropped { .. } => "dropped",
            EventKind::Discarded { .. } => "discarded",
            EventKind::JobLost { .. } => "job lost",
            EventKind::Requeued { .. } => "requeued",
            EventKind::Crashed { .. } => "crashed",
            EventKind::Recovered { .. } => "recovered",
            _ => "",
        })
        .filter(|k| !k.is_empty())
        .collect()
}

fn deliveries(sim: &Sim) -> Vec<(MsgId, bool)> {
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Sent { payload: Payload::Deliver { message, redelivered, .. }, .. } => {
                Some((message, redelivered))
            }
            _ => None,
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_consumer_that_crashes_before_its_ack_gets_the_message_again_after_it_recovers() {
    let mut sim = Sim::new(&figures::hybrid()).unwrap();
    let (a, c) = (node(&sim, "a"), node(&sim, "c"));
    sim.trigger(a).unwrap();
    // C gets the delivery at 390 ms and works until 1.59 s; it crashes at 1 s.
    sim.run_until(ms(1_000));
    sim.disrupt(Disruption::Crash(c)).unwrap();
    assert_eq!(kinds_since(&sim, 0), ["crashed", "job lost", "requeued"]);
    assert_eq!(sim.queue_holding(sim.model().queue_ids().next().unwrap()), Some((1, 0)));
    sim.run_until(ms(3_000));
    assert_eq!(deliveries(&sim).len(), 1, "nothing goes to a consumer that is down");

    sim.disrupt(Disruption::Recover(c)).unwrap();
    sim.run_until_idle(1_000);
    let d = deliveries(&sim);
    assert_eq!(d.len(), 2);
    assert_eq!(d[1], (d[0].0, true), "the same message, marked as a redelivery");
    assert_eq!(sim.queue_holding(sim.model().queue_ids().next().unwrap()), Some((0, 0)));
    // A's answer never depended on C.
    assert!(sim
        .trace()
        .since(0)
        .any(|e| matches!(e.kind, EventKind::CallReturned { waited, .. } if waited == SimDuration::from_millis(370))));
}

#[wasm_bindgen_test(unsupported = test)]
fn with_the_broker_down_b_still_answers_a_and_the_message_is_lost() {
    let mut sim = Sim::new(&figures::hybrid()).unwrap();
    let (a, broker) = (node(&sim, "a"), node(&sim, "broker"));
    sim.disrupt(Disruption::Crash(broker)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    let drops: Vec<_> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Dropped { node, reason, .. } => Some((node, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(drops, [(broker, DropReason::NodeDown)], "B's publish, and nothing else");
    // B had done its work and answered: A got its reply, though C will never hear of it.
    let returned = sim.trace().since(0).any(|e| matches!(e.kind, EventKind::CallReturned { .. }));
    assert!(returned);
    assert!(deliveries(&sim).is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn an_ack_lost_while_the_broker_is_down_means_the_message_is_processed_twice() {
    let mut sim = Sim::new(&figures::broker()).unwrap();
    let (a, broker) = (node(&sim, "a"), node(&sim, "broker"));
    sim.trigger(a).unwrap();
    // B works from 80 ms to 980 ms and acks; the ack would reach the broker at 1.02 s.
    sim.run_until(ms(1_000));
    sim.disrupt(Disruption::Crash(broker)).unwrap();
    sim.run_until(ms(1_500));
    sim.disrupt(Disruption::Recover(broker)).unwrap();
    sim.run_until_idle(1_000);
    assert_eq!(kinds_since(&sim, 0), ["crashed", "requeued", "dropped", "recovered"]);
    let works_by_b = sim
        .trace()
        .since(0)
        .filter(|e| matches!(e.kind, EventKind::WorkDone { node, .. } if node == NodeId(2)))
        .count();
    assert_eq!(works_by_b, 2, "at least once: B did the work twice");
    let d = deliveries(&sim);
    assert_eq!((d.len(), d[1]), (2, (d[0].0, true)));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lossy_link_or_a_partition_leaves_the_caller_blocked_without_a_timeout() {
    for d in [Disruption::LinkLoss(LinkId(0), 1000), Disruption::Partition(NodeId(0), NodeId(1))] {
        let mut sim = Sim::new(&figures::request_response()).unwrap();
        let a = node(&sim, "a");
        sim.disrupt(d).unwrap();
        sim.trigger(a).unwrap();
        sim.run_until_idle(1_000);
        let reason = sim.trace().since(0).find_map(|e| match e.kind {
            EventKind::Dropped { reason, .. } => Some(reason),
            _ => None,
        });
        let expected = if matches!(d, Disruption::LinkLoss(..)) {
            DropReason::LinkLoss
        } else {
            DropReason::Partition
        };
        assert_eq!(reason, Some(expected));
        assert!(sim.next_due().is_none(), "nothing more will happen");
        let blocked = sim.trace().since(0).any(|e| matches!(e.kind, EventKind::CallBlocked { .. }));
        let returned =
            sim.trace().since(0).any(|e| matches!(e.kind, EventKind::CallReturned { .. }));
        assert!(blocked && !returned, "A waits for ever: it has no timeout");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_partition_heals_and_a_lossy_link_loses_about_its_share() {
    let mut sim = Sim::new(&figures::request_response()).unwrap();
    let (a, b) = (node(&sim, "a"), node(&sim, "b"));
    sim.disrupt(Disruption::Partition(b, a)).unwrap();
    sim.disrupt(Disruption::Heal(a, b)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    assert!(kinds_since(&sim, 0).is_empty(), "healed: nothing dropped");

    // A quarter of 2 000 envelopes, within a few percent.
    let mut s = figures::broker();
    s.workloads = vec![WorkloadSpec {
        service: "a".into(),
        arrivals: Arrivals::Fixed { every_ms: 1.0 },
        count: Some(2_000),
    }];
    first_service(&mut s).processing = LatencySpec::Constant { ms: 0.0 };
    let mut sim = Sim::from_model(s.validate().unwrap(), 100_000);
    sim.disrupt(Disruption::LinkLoss(LinkId(0), 250)).unwrap();
    sim.run_until_idle(1_000_000);
    let (mut sent, mut lost) = (0, 0);
    for e in sim.trace().since(0) {
        match e.kind {
            EventKind::Sent { link: LinkId(0), .. } => sent += 1,
            EventKind::Dropped { reason: DropReason::LinkLoss, .. } => lost += 1,
            _ => {}
        }
    }
    let share = f64::from(lost) / f64::from(sent);
    assert!((share - 0.25).abs() < 0.03, "{lost} of {sent} lost");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_slow_service_takes_its_share_longer_and_a_crash_voids_its_work() {
    let mut sim = Sim::new(&figures::request_response()).unwrap();
    let (a, b) = (node(&sim, "a"), node(&sim, "b"));
    sim.disrupt(Disruption::Slow(b, 300)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    let waited = sim.trace().since(0).find_map(|e| match e.kind {
        EventKind::CallReturned { waited, .. } => Some(waited),
        _ => None,
    });
    assert_eq!(waited, Some(SimDuration::from_millis(60 + 1_200 + 60)));
    assert!(sim.disrupt(Disruption::Slow(b, 0)).is_err());
    assert!(sim.disrupt(Disruption::Slow(NodeId(9), 100)).is_err());

    // A crashes while blocked and is back before the response: the response finds no one.
    let mut sim = Sim::new(&figures::request_response()).unwrap();
    sim.disrupt(Disruption::Slow(b, 100)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until(ms(100));
    sim.disrupt(Disruption::Crash(a)).unwrap();
    sim.disrupt(Disruption::Recover(a)).unwrap();
    sim.run_until_idle(1_000);
    assert_eq!(kinds_since(&sim, 0), ["crashed", "job lost", "recovered", "discarded"]);
    // And a job for a service that is down is lost at once.
    sim.disrupt(Disruption::Crash(a)).unwrap();
    sim.trigger(a).unwrap();
    assert_eq!(kinds_since(&sim, 0).last(), Some(&"job lost"));
}

#[wasm_bindgen_test(unsupported = test)]
fn faults_in_a_scenario_strike_at_their_times_and_bad_ones_name_the_field() {
    use callflow_sim::scenario::{Fault, FaultSpec};
    let mut s = figures::hybrid();
    s.faults = vec![
        FaultSpec { at_ms: 1_000.0, fault: Fault::Crash { node: "c".into() } },
        FaultSpec { at_ms: 2_000.0, fault: Fault::Recover { node: "c".into() } },
    ];
    let mut sim = Sim::new(&s).unwrap();
    sim.trigger(node(&sim, "a")).unwrap();
    sim.run_until_idle(1_000);
    let crashed = sim.trace().since(0).find(|e| matches!(e.kind, EventKind::Crashed { .. }));
    let recovered = sim.trace().since(0).find(|e| matches!(e.kind, EventKind::Recovered { .. }));
    assert_eq!(crashed.map(|e| e.at), Some(ms(1_000)));
    assert_eq!(recovered.map(|e| e.at), Some(ms(2_000)));
    assert_eq!(deliveries(&sim).len(), 2, "C got its message again after recovering");

    let bad = |fault: Fault| {
        let mut s = figures::hybrid();
        s.faults = vec![FaultSpec { at_ms: 5.0, fault }];
        Sim::new(&s).unwrap_err()
    };
    assert_eq!(bad(Fault::Crash { node: "z".into() }).field(), "faults[0].node");
    assert_eq!(bad(Fault::Slow { node: "broker".into(), percent: 200 }).field(), "faults[0].node");
    assert_eq!(bad(Fault::Slow { node: "b".into(), percent: 0 }).field(), "faults[0].percent");
    let e = bad(Fault::LinkLoss { a: "a".into(), b: "b".into(), share: 1.5 });
    assert_eq!(e.problem(), &Problem::BadShare(1.5));
    let e = bad(Fault::LinkLoss { a: "a".into(), b: "c".into(), share: 0.5 });
    assert_eq!(e.problem(), &Problem::NoLinkAtAll("a".into(), "c".into()));
    assert_eq!(
        bad(Fault::Partition { a: "a".into(), b: "a".into() }).problem(),
        &Problem::SelfLink
    );
    let mut s = figures::hybrid();
    s.faults = vec![FaultSpec { at_ms: f64::NAN, fault: Fault::Crash { node: "c".into() } }];
    assert_eq!(Sim::new(&s).unwrap_err().field(), "faults[0].at_ms");
}

/// Figure 1 with A's client set to `client` and B's work at `b_ms`.
fn calls_with(client: ClientSpec, b_ms: f64) -> Sim {
    let mut s = figures::request_response();
    set_processing(&mut s, "b", b_ms);
    first_service(&mut s).client = client;
    let mut sim = Sim::new(&s).unwrap();
    sim.trigger(node(&sim, "a")).unwrap();
    sim.run_until_idle(10_000);
    sim
}

fn count(sim: &Sim, f: impl Fn(&EventKind) -> bool) -> usize {
    sim.trace().since(0).filter(|e| f(&e.kind)).count()
}

fn at_of(sim: &Sim, f: impl Fn(&EventKind) -> bool) -> Vec<SimTime> {
    sim.trace().since(0).filter(|e| f(&e.kind)).map(|e| e.at).collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_caller_that_times_out_retries_with_backoff_and_the_server_runs_every_attempt() {
    let client = ClientSpec {
        timeout_ms: Some(300.0),
        retries: 2,
        backoff_ms: 100.0,
        jitter: 0.0,
        idempotency_key: false,
    };
    let sim = calls_with(client, 400.0);
    let b = NodeId(1);
    // Attempts at 0, 400 (300 + 100) and 900 (700 + 200); each times out 300 ms later.
    let sent =
        at_of(&sim, |k| matches!(k, EventKind::Sent { payload: Payload::HttpRequest { .. }, .. }));
    assert_eq!(sent, [ms(0), ms(400), ms(900)]);
    let timed_out = at_of(&sim, |k| matches!(k, EventKind::CallTimedOut { .. }));
    assert_eq!(timed_out, [ms(300), ms(700), ms(1_200)]);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::CallFailed { attempts: 3, .. })), 1);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::JobDone { failed: true, .. })), 1);
    // The server never knew: it did the work of every attempt, and every answer came late.
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 3);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Discarded { .. })), 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn with_an_idempotency_key_the_server_works_once_and_answers_again_from_its_store() {
    let client = ClientSpec {
        timeout_ms: Some(250.0),
        retries: 3,
        backoff_ms: 100.0,
        jitter: 0.0,
        idempotency_key: true,
    };
    let sim = calls_with(client, 400.0);
    let b = NodeId(1);
    // Attempt 1 at 0 runs on B until 460. Attempt 2 (350) finds the key running: an error at
    // 470. Attempt 3 (470 + 200) finds it done: the stored answer, back at 790.
    let replays: Vec<bool> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Replayed { stored, .. } => Some(stored),
            _ => None,
        })
        .collect();
    assert_eq!(replays, [false, true]);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 1);
    let returned: Vec<(SimTime, bool)> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::CallReturned { ok, .. } => Some((e.at, ok)),
            _ => None,
        })
        .collect();
    assert_eq!(returned, [(ms(470), false), (ms(790), true)]);
    assert_eq!(
        count(&sim, |k| matches!(k, EventKind::Discarded { .. })),
        1,
        "attempt 1's late answer"
    );
    assert_eq!(count(&sim, |k| matches!(k, EventKind::JobDone { failed: true, .. })), 0);
    // Every attempt carried the first request's id as its key.
    let keys: Vec<Option<MsgId>> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Sent { msg, payload: Payload::HttpRequest { key, attempt }, .. } => {
                assert!(attempt >= 1);
                Some(key.map(|k| MsgId(msg.0 - k.0)).and(key))
            }
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == keys[0] && k.is_some()));
}

#[wasm_bindgen_test(unsupported = test)]
fn without_a_key_a_retried_call_runs_twice_downstream() {
    let client = ClientSpec {
        timeout_ms: Some(250.0),
        retries: 3,
        backoff_ms: 100.0,
        jitter: 0.0,
        idempotency_key: false,
    };
    let sim = calls_with(client, 400.0);
    let works =
        count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == NodeId(1)));
    assert!(works >= 2, "B did the work {works} times for one call");
}

#[wasm_bindgen_test(unsupported = test)]
fn jitter_spreads_the_backoff_within_its_share_and_a_timeout_frees_a_caller_whose_request_was_lost()
{
    let client = ClientSpec {
        timeout_ms: Some(100.0),
        retries: 4,
        backoff_ms: 80.0,
        jitter: 0.5,
        idempotency_key: false,
    };
    let mut waits = Vec::new();
    for seed in 0..20 {
        let mut s = figures::request_response();
        s.seed = seed;
        first_service(&mut s).client = client.clone();
        let mut sim = Sim::new(&s).unwrap();
        sim.disrupt(Disruption::LinkLoss(LinkId(0), 1000)).unwrap();
        sim.trigger(node(&sim, "a")).unwrap();
        sim.run_until_idle(10_000);
        assert!(sim.next_due().is_none());
        assert_eq!(count(&sim, |k| matches!(k, EventKind::CallFailed { attempts: 5, .. })), 1);
        for e in sim.trace().since(0) {
            if let EventKind::CallBackoff { attempt, wait, .. } = e.kind {
                let base = 80_000u64 << (attempt - 2);
                let us = wait.as_micros();
                assert!((base..=base + base / 2).contains(&us), "attempt {attempt}: {us} µs");
                waits.push(us);
            }
        }
    }
    waits.sort_unstable();
    waits.dedup();
    assert!(waits.len() > 40, "the jitter draws differ: {} distinct waits", waits.len());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bad_client_policy_names_the_field() {
    let bad = |client: ClientSpec| {
        let mut s = figures::request_response();
        first_service(&mut s).client = client;
        Sim::new(&s).unwrap_err()
    };
    let d = ClientSpec::default();
    assert_eq!(
        bad(ClientSpec { timeout_ms: Some(0.0), ..d.clone() }).field(),
        "nodes[0].client.timeout_ms"
    );
    assert_eq!(bad(ClientSpec { retries: 11, ..d.clone() }).field(), "nodes[0].client.retries");
    assert_eq!(
        bad(ClientSpec { backoff_ms: -1.0, ..d.clone() }).field(),
        "nodes[0].client.backoff_ms"
    );
    assert_eq!(bad(ClientSpec { jitter: 2.0, ..d }).problem(), &Problem::BadShare(2.0));
}

/// Figure 2 with B slow and its queue set up by `queue`, and a dead-letter queue "dead" whose
/// consumer is D; A publishes `n` times at once.
fn broker_queue(queue: impl FnOnce(&mut callflow_sim::scenario::QueueSpec), n: usize) -> Sim {
    let mut s = figures::broker();
    set_processing(&mut s, "b", 2_000.0);
    let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
    queue(&mut b.queues[0]);
    b.queues.push(callflow_sim::scenario::QueueSpec {
        name: "dead".into(),
        consumer: "d".into(),
        prefetch: 1,
        ..Default::default()
    });
    add_one_like_b(&mut s, "d");
    let mut sim = Sim::new(&s).unwrap();
    let a = node(&sim, "a");
    for _ in 0..n {
        sim.trigger(a).unwrap();
    }
    sim
}

fn overflowed(sim: &Sim) -> Vec<(MsgId, bool)> {
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Overflowed { message, dropped_oldest, .. } => {
                Some((message, dropped_oldest))
            }
            _ => None,
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_full_queue_refuses_the_new_message_and_says_so_to_the_publisher() {
    let mut sim = broker_queue(|q| q.max_length = Some(2), 5);
    let checker = step_checked(&mut sim, 10_000);
    // The first goes straight to B; two wait; the last two find the queue full.
    let lost = overflowed(&sim);
    assert_eq!(lost.len(), 2);
    assert!(lost.iter().all(|(_, oldest)| !oldest));
    let refused = sim
        .trace()
        .since(0)
        .filter(|e| {
            matches!(e.kind, EventKind::Sent { payload: Payload::Confirm { ok: false, .. }, .. })
        })
        .count();
    assert_eq!(refused, 2, "each refusal is a negative confirm to A");
    assert_eq!(checker.acked.len(), 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_full_queue_can_drop_its_oldest_instead() {
    use callflow_sim::scenario::Overflow;
    let mut sim = broker_queue(
        |q| {
            q.max_length = Some(2);
            q.overflow = Overflow::DropOldest;
        },
        5,
    );
    let checker = step_checked(&mut sim, 10_000);
    let lost = overflowed(&sim);
    assert_eq!(lost.len(), 2);
    assert!(lost.iter().all(|(_, oldest)| *oldest));
    // The newest two were kept: B got the first and the last two.
    let delivered: Vec<MsgId> = deliveries(&sim).into_iter().map(|(m, _)| m).collect();
    let published: Vec<MsgId> = checker.published.iter().copied().collect();
    assert_eq!(delivered, [published[0], published[3], published[4]]);
}

#[wasm_bindgen_test(unsupported = test)]
fn with_ack_on_receipt_a_consumer_crash_loses_the_message() {
    use callflow_sim::scenario::AckMode;
    let mut sim = broker_queue(|q| q.ack = AckMode::OnReceipt, 1);
    // B gets the message at 80 ms, acks at once, works until 2.08 s; it crashes at 1 s.
    sim.run_until(ms(1_000));
    let b = node(&sim, "b");
    sim.disrupt(Disruption::Crash(b)).unwrap();
    sim.disrupt(Disruption::Recover(b)).unwrap();
    sim.run_until_idle(1_000);
    assert_eq!(deliveries(&sim).len(), 1, "at most once: never delivered again");
    let works = count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b));
    assert_eq!(works, 0, "and its work was never done");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_message_that_keeps_crashing_its_consumer_goes_to_the_dead_letter_queue() {
    use callflow_sim::scenario::DeadLetterSpec;
    let mut sim = broker_queue(
        |q| q.dead_letter = Some(DeadLetterSpec { queue: "dead".into(), after_deliveries: 2 }),
        1,
    );
    let b = node(&sim, "b");
    let d = node(&sim, "d");
    let mut c = Checker::default();
    // Each time B is at work on it, B crashes.
    for _ in 0..3 {
        sim.run_until(sim.now() + SimDuration::from_millis(500));
        c.feed(&sim);
        sim.disrupt(Disruption::Crash(b)).unwrap();
        c.feed(&sim);
        sim.disrupt(Disruption::Recover(b)).unwrap();
        c.feed(&sim);
    }
    while sim.step().is_some() {
        c.feed(&sim);
    }
    let all = deliveries(&sim).len();
    let dead = dead_lettered_after(&sim);
    assert_eq!(dead, [2], "after its second delivery it went to the dead-letter queue");
    assert_eq!(all, 3, "two deliveries to B, one from the dead-letter queue to D");
    let done_by_d = count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == d));
    assert_eq!(done_by_d, 1);
    assert_eq!(c.acked.len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_queue_options_name_the_field() {
    use callflow_sim::scenario::DeadLetterSpec;
    let bad = |f: fn(&mut callflow_sim::scenario::QueueSpec)| {
        let mut s = figures::broker();
        let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
        f(&mut b.queues[0]);
        Sim::new(&s).unwrap_err()
    };
    assert_eq!(bad(|q| q.max_length = Some(0)).field(), "nodes[1].queues[0].max_length");
    let e = bad(|q| {
        q.dead_letter = Some(DeadLetterSpec { queue: "orders".into(), after_deliveries: 2 })
    });
    assert_eq!(e.field(), "nodes[1].queues[0].dead_letter.queue", "not itself");
    let e = bad(|q| {
        q.dead_letter = Some(DeadLetterSpec { queue: "nowhere".into(), after_deliveries: 2 })
    });
    assert_eq!(e.problem(), &Problem::UnknownQueue("nowhere".into()));
}

/// Figure 2 where B's job for a message calls D over HTTP (10 ms each way, 50 ms of work)
/// and gives up after 100 ms, and B's queue dead-letters to "dead", consumed by E, after
/// `dead_after` deliveries if given.
fn consumer_that_calls(dead_after: Option<u32>) -> Scenario {
    use callflow_sim::scenario::{DeadLetterSpec, LinkSpec, QueueSpec, ServiceSpec};
    let mut s = figures::broker();
    let plain = |id: &str, on_request: Vec<Step>, on_message: Vec<Step>| {
        NodeSpec::Service(ServiceSpec {
            id: id.into(),
            label: format!("Microservice {}", id.to_uppercase()),
            workers: 1,
            processing: LatencySpec::Constant { ms: 50.0 },
            on_trigger: vec![],
            on_request,
            on_message,
            client: ClientSpec::default(),
            idempotent_consumer: false,
            subscribe: vec![],
        })
    };
    s.nodes.push(plain("d", vec![Step::Work], vec![]));
    s.nodes.push(plain("e", vec![], vec![Step::Work]));
    for n in &mut s.nodes {
        match n {
            NodeSpec::Service(b) if b.id == "b" => {
                b.on_message = vec![Step::Call { service: "d".into() }, Step::Work];
                b.client = ClientSpec { timeout_ms: Some(100.0), ..ClientSpec::default() };
            }
            NodeSpec::Broker(broker) => {
                broker.queues[0].dead_letter = dead_after
                    .map(|after| DeadLetterSpec { queue: "dead".into(), after_deliveries: after });
                broker.queues.push(QueueSpec {
                    name: "dead".into(),
                    consumer: "e".into(),
                    prefetch: 1,
                    ..QueueSpec::default()
                });
            }
            _ => {}
        }
    }
    let link = |a: &str, b: &str, protocol| LinkSpec {
        a: a.into(),
        b: b.into(),
        protocol,
        latency: LatencySpec::Constant { ms: 10.0 },
    };
    s.links.push(link("b", "d", callflow_sim::Protocol::Http));
    s.links.push(link("broker", "e", callflow_sim::Protocol::Amqp));
    s
}

/// Steps to the end, checking the invariants after every event.
fn finish_checked(sim: &mut Sim, c: &mut Checker) {
    c.feed(sim);
    for _ in 0..100_000 {
        if sim.step().is_none() {
            break;
        }
        c.feed(sim);
    }
    assert!(sim.next_due().is_none(), "the run ends");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_job_nacks_and_the_broker_delivers_the_message_again() {
    let mut sim = Sim::new(&consumer_that_calls(None)).unwrap();
    let (a, b, d) = (node(&sim, "a"), node(&sim, "b"), node(&sim, "d"));
    let mut c = Checker::default();
    // D is down until 700 ms: every call B makes for the message times out.
    sim.disrupt(Disruption::Crash(d)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until(ms(700));
    c.feed(&sim);
    sim.disrupt(Disruption::Recover(d)).unwrap();
    finish_checked(&mut sim, &mut c);

    let d = deliveries(&sim);
    let nacks = count(&sim, |k| matches!(k, EventKind::Nacked { .. }));
    assert!(nacks >= 2, "B failed more than once while D was down ({nacks})");
    assert_eq!(d.len(), nacks + 1, "each nack brought one more delivery");
    assert!(d.iter().all(|&(m, _)| m == d[0].0), "always the same message");
    assert!(!d[0].1 && d[1..].iter().all(|&(_, again)| again), "the later ones are redeliveries");
    assert_eq!(
        count(&sim, |k| matches!(k, EventKind::Requeued { .. })),
        nacks,
        "each nack put the message back in the queue"
    );
    // Only the last delivery's job got through: B did its work once, and acked once.
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 1);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::JobDone { failed: true, .. })), nacks);
    assert_eq!(c.acked.len(), 1);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Acked { .. })), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_message_nacked_as_often_as_its_queue_allows_goes_to_the_dead_letter_queue() {
    let mut sim = Sim::new(&consumer_that_calls(Some(3))).unwrap();
    let (a, d, e) = (node(&sim, "a"), node(&sim, "d"), node(&sim, "e"));
    let mut c = Checker::default();
    sim.disrupt(Disruption::Crash(d)).unwrap();
    sim.trigger(a).unwrap();
    finish_checked(&mut sim, &mut c);

    assert_eq!(count(&sim, |k| matches!(k, EventKind::Nacked { .. })), 3);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Requeued { .. })), 2);
    let dead = dead_lettered_after(&sim);
    assert_eq!(dead, [3], "after the third failed delivery, not a fourth");
    let to_e = deliveries(&sim).len() - 3;
    assert_eq!(to_e, 1, "E got it from the dead-letter queue");
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == e)), 1);
    assert_eq!(c.acked.len(), 1, "E acked it");
}

/// For each message dead-lettered, how many deliveries it had had.
fn dead_lettered_after(sim: &Sim) -> Vec<u32> {
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::DeadLettered { deliveries, .. } => Some(deliveries),
            _ => None,
        })
        .collect()
}

/// Figure 2 with a second service C, like B (900 ms of work), joined to the broker.
fn broker_and_c() -> Scenario {
    let mut s = figures::broker();
    add_one_like_b(&mut s, "c");
    s
}

/// Adds to Figure 2 (or a scenario made from it) a service `id` that does what B does, joined
/// to the broker by an AMQP link of 40 ms.
fn add_one_like_b(s: &mut Scenario, id: &str) {
    let mut copy = s.nodes[2].clone();
    if let NodeSpec::Service(svc) = &mut copy {
        svc.id = id.into();
        svc.label = format!("Microservice {}", id.to_uppercase());
    }
    s.nodes.push(copy);
    s.links.push(callflow_sim::scenario::LinkSpec {
        a: "broker".into(),
        b: id.into(),
        protocol: callflow_sim::Protocol::Amqp,
        latency: LatencySpec::Constant { ms: 40.0 },
    });
}

/// Figure 2 with a second consumer C, like B (900 ms of work), competing for B's queue with
/// `prefetch`; A publishes `n` times at once.
fn competing(prefetch: u32, n: usize) -> Sim {
    let mut s = broker_and_c();
    let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
    b.queues[0].consumer = String::new();
    b.queues[0].consumers = vec!["b".into(), "c".into()];
    b.queues[0].prefetch = prefetch;
    let mut sim = Sim::new(&s).unwrap();
    let a = node(&sim, "a");
    for _ in 0..n {
        sim.trigger(a).unwrap();
    }
    sim
}

/// Each delivery: its message, to whom, and whether it was a redelivery.
fn deliveries_to(sim: &Sim) -> Vec<(MsgId, NodeId, bool)> {
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Sent {
                to, payload: Payload::Deliver { message, redelivered, .. }, ..
            } => Some((message, to, redelivered)),
            _ => None,
        })
        .collect()
}

/// The most deliveries each consumer held at once without an ack, by the trace.
fn most_held(sim: &Sim) -> BTreeMap<NodeId, usize> {
    let mut out: BTreeMap<u64, NodeId> = BTreeMap::new();
    let mut most = BTreeMap::new();
    for e in sim.trace().since(0) {
        match e.kind {
            EventKind::Sent { to, payload: Payload::Deliver { tag, .. }, .. } => {
                out.insert(tag, to);
                let held = out.values().filter(|n| **n == to).count();
                let m = most.entry(to).or_insert(0);
                *m = held.max(*m);
            }
            EventKind::Acked { tag, .. }
            | EventKind::Nacked { tag, .. }
            | EventKind::Requeued { tag, .. } => {
                out.remove(&tag);
            }
            _ => {}
        }
    }
    most
}

#[wasm_bindgen_test(unsupported = test)]
fn competing_consumers_take_turns_and_each_message_is_processed_once() {
    for prefetch in [1, 2] {
        let mut sim = competing(prefetch, 8);
        let (b, c) = (node(&sim, "b"), node(&sim, "c"));
        let checker = step_checked(&mut sim, 100_000);
        assert!(sim.next_due().is_none());

        let d = deliveries_to(&sim);
        assert_eq!(d.len(), 8, "no fault, no redelivery");
        let messages: BTreeSet<MsgId> = d.iter().map(|&(m, _, _)| m).collect();
        assert_eq!(messages.len(), 8, "each message went to one consumer, once");
        assert_eq!(checker.acked, checker.published);
        let works = |n: NodeId| {
            count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == n))
        };
        assert_eq!((works(b), works(c)), (4, 4), "prefetch {prefetch}: the work is shared");
        // Turns: the first deliveries alternate between the two.
        let firsts: Vec<NodeId> = d.iter().take(4).map(|&(_, to, _)| to).collect();
        assert_eq!(firsts, [b, c, b, c]);
        let most = most_held(&sim);
        assert_eq!(most.values().copied().collect::<Vec<_>>(), [prefetch as usize; 2]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_crashed_consumers_messages_go_to_the_other_one() {
    let mut sim = competing(1, 2);
    let (b, c) = (node(&sim, "b"), node(&sim, "c"));
    let mut checker = Checker::default();
    // B and C each get one message at 80 and 100 ms and work 900 ms; B crashes at 500 ms.
    sim.run_until(ms(500));
    checker.feed(&sim);
    sim.disrupt(Disruption::Crash(b)).unwrap();
    checker.feed(&sim);
    sim.run_until(ms(3_000));
    checker.feed(&sim);
    sim.disrupt(Disruption::Recover(b)).unwrap();
    finish_checked(&mut sim, &mut checker);

    let d = deliveries_to(&sim);
    assert_eq!(d.len(), 3);
    let (lost, ..) = d[0];
    assert_eq!(d[0].1, b);
    assert_eq!(d[2], (lost, c, true), "B's message went to C, marked, with its id");
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 0);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == c)), 2);
    assert_eq!(checker.acked, checker.published);
}

#[wasm_bindgen_test(unsupported = test)]
fn with_every_consumer_down_a_message_waits_for_one_to_recover() {
    let mut sim = competing(1, 1);
    let (b, c) = (node(&sim, "b"), node(&sim, "c"));
    sim.disrupt(Disruption::Crash(c)).unwrap();
    sim.run_until(ms(500));
    sim.disrupt(Disruption::Crash(b)).unwrap();
    sim.run_until(ms(2_000));
    sim.disrupt(Disruption::Recover(b)).unwrap();
    sim.run_until_idle(1_000);
    let d = deliveries_to(&sim);
    assert_eq!(d.len(), 2);
    assert_eq!(d[1], (d[0].0, b, true), "back to B once it recovered");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_queue_takes_one_consumer_or_several_by_name_and_says_which_field_is_wrong() {
    let with = |consumer: &str, consumers: &[&str]| {
        let mut s = figures::broker();
        let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
        b.queues[0].consumer = consumer.into();
        b.queues[0].consumers = consumers.iter().map(|c| c.to_string()).collect();
        Sim::new(&s)
    };
    assert!(with("b", &[]).is_ok());
    assert!(with("", &["b"]).is_ok());
    let e = with("b", &["b"]).unwrap_err();
    assert_eq!(e.field(), "nodes[1].queues[0].consumers");
    assert_eq!(e.problem(), &Problem::Conflicts("consumer".into()));
    let e = with("", &[]).unwrap_err();
    assert_eq!((e.field(), e.problem()), ("nodes[1].queues[0].consumer", &Problem::Empty));
    let e = with("", &["b", "b"]).unwrap_err();
    assert_eq!(e.field(), "nodes[1].queues[0].consumers[1]");
    assert_eq!(e.problem(), &Problem::Duplicate("b".into()));
    let e = with("", &["b", "z"]).unwrap_err();
    assert_eq!(e.field(), "nodes[1].queues[0].consumers[1]");
    assert_eq!(e.problem(), &Problem::UnknownNode("z".into()));
    assert!(with("", &["b", "a"]).is_ok(), "A has an AMQP link to the broker: it may consume");
    assert_eq!(with("", &["b", "broker"]).unwrap_err().field(), "nodes[1].queues[0].consumers[1]");

    // In JSON, either field reads; one consumer is written as `consumer`.
    let json = serde_json::to_value(figures::broker()).unwrap();
    let queue = &json["nodes"][1]["queues"][0];
    assert_eq!(queue["consumer"], "b");
    assert!(queue.get("consumers").is_none());
    let mut two = json.clone();
    two["nodes"][1]["queues"][0].as_object_mut().unwrap().remove("consumer");
    two["nodes"][1]["queues"][0]["consumers"] = serde_json::json!(["b"]);
    let s: Scenario = serde_json::from_value(two).unwrap();
    assert!(Sim::new(&s).is_ok());
}

/// Figure 2 with a second consumer C and a fan-out exchange "orders" bound to a queue for
/// each, "for-b" and "for-c"; A publishes to the exchange, `n` times at once. `for_c` sets
/// up C's queue.
fn fan_out(for_c: impl FnOnce(&mut callflow_sim::scenario::QueueSpec), n: usize) -> Sim {
    use callflow_sim::scenario::{ExchangeSpec, QueueSpec};
    let mut s = broker_and_c();
    let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
    let queue = |name: &str, consumer: &str| QueueSpec {
        name: name.into(),
        consumer: consumer.into(),
        prefetch: 1,
        ..QueueSpec::default()
    };
    let mut c_queue = queue("for-c", "c");
    for_c(&mut c_queue);
    b.queues = vec![queue("for-b", "b"), c_queue];
    b.exchanges =
        vec![ExchangeSpec { name: "orders".into(), queues: vec!["for-b".into(), "for-c".into()] }];
    first_service(&mut s).on_trigger = vec![
        Step::Publish {
            broker: "broker".into(),
            queue: String::new(),
            exchange: Some("orders".into()),
            mode: Default::default(),
        },
        Step::Work,
    ];
    let mut sim = Sim::new(&s).unwrap();
    let a = node(&sim, "a");
    for _ in 0..n {
        sim.trigger(a).unwrap();
    }
    sim
}

/// The confirms the broker sent, in order: ok or not.
fn confirms(sim: &Sim) -> Vec<bool> {
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Sent { payload: Payload::Confirm { ok, .. }, .. } => Some(ok),
            _ => None,
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_publish_to_an_exchange_gives_each_bound_queue_its_own_copy() {
    let mut sim = fan_out(|_| {}, 3);
    let (b, c) = (node(&sim, "b"), node(&sim, "c"));
    let checker = step_checked(&mut sim, 100_000);
    assert!(sim.next_due().is_none());

    let publishes =
        count(&sim, |k| matches!(k, EventKind::Sent { payload: Payload::PublishTo { .. }, .. }));
    assert_eq!(publishes, 3, "A published three times");
    assert_eq!(confirms(&sim), [true; 3], "one confirm per publish");
    let d = deliveries_to(&sim);
    let to = |n: NodeId| d.iter().filter(|&&(_, to, _)| to == n).map(|&(m, ..)| m).collect();
    let (to_b, to_c): (Vec<MsgId>, Vec<MsgId>) = (to(b), to(c));
    assert_eq!(to_b.len(), 3);
    assert_eq!(to_b, to_c, "B and C each got every message, under the same ids");
    let acks_per_queue = |index: u16| {
        count(&sim, |k| matches!(k, EventKind::Acked { queue, .. } if queue.index == index))
    };
    assert_eq!((acks_per_queue(0), acks_per_queue(1)), (3, 3), "each copy acked on its own");
    assert_eq!(checker.acked, checker.published);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_full_queue_behind_an_exchange_refuses_only_its_own_copy() {
    // C's queue holds one waiting message. Publishes reach the broker at 40, 60, 80, 100 ms:
    // the first goes straight to C, the second waits, the last two find C's queue full.
    let mut sim = fan_out(|q| q.max_length = Some(1), 4);
    let (b, c) = (node(&sim, "b"), node(&sim, "c"));
    step_checked(&mut sim, 100_000);
    let refused: Vec<u16> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::Overflowed { queue, dropped_oldest: false, .. } => Some(queue.index),
            _ => None,
        })
        .collect();
    assert_eq!(refused, [1, 1], "only C's queue refused, twice");
    assert_eq!(confirms(&sim), [true, true, false, false], "A is told a copy was refused");
    let works =
        |n: NodeId| count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == n));
    assert_eq!((works(b), works(c)), (4, 2), "B got every message all the same");
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_exchanges_and_publishes_name_the_field() {
    use callflow_sim::scenario::ExchangeSpec;
    let with = |exchange: ExchangeSpec, publish: Step| {
        let mut s = figures::broker();
        let NodeSpec::Broker(b) = &mut s.nodes[1] else { unreachable!() };
        b.exchanges = vec![exchange];
        first_service(&mut s).on_trigger = vec![publish];
        Sim::new(&s)
    };
    let x = |queues: &[&str]| ExchangeSpec {
        name: "x".into(),
        queues: queues.iter().map(|q| q.to_string()).collect(),
    };
    let to = |queue: &str, exchange: Option<&str>| Step::Publish {
        broker: "broker".into(),
        queue: queue.into(),
        exchange: exchange.map(Into::into),
        mode: Default::default(),
    };
    assert!(with(x(&["orders"]), to("", Some("x"))).is_ok());
    assert!(with(x(&["orders"]), to("orders", None)).is_ok());
    let e = with(x(&["nowhere"]), to("orders", None)).unwrap_err();
    assert_eq!(e.field(), "nodes[1].exchanges[0].queues[0]");
    assert_eq!(e.problem(), &Problem::UnknownQueue("nowhere".into()));
    let e = with(x(&["orders", "orders"]), to("orders", None)).unwrap_err();
    assert_eq!(e.field(), "nodes[1].exchanges[0].queues[1]");
    let e = with(x(&[]), to("orders", None)).unwrap_err();
    assert_eq!((e.field(), e.problem()), ("nodes[1].exchanges[0].queues", &Problem::Empty));
    let e = with(x(&["orders"]), to("orders", Some("x"))).unwrap_err();
    assert_eq!(e.field(), "nodes[0].on_trigger[0].exchange");
    assert_eq!(e.problem(), &Problem::Conflicts("queue".into()));
    let e = with(x(&["orders"]), to("", Some("y"))).unwrap_err();
    assert_eq!(e.problem(), &Problem::UnknownExchange("y".into()));
    let e = with(x(&["orders"]), to("", None)).unwrap_err();
    assert_eq!(e.field(), "nodes[0].on_trigger[0].queue");
}

/// Figure 2 where B's ack is lost while the broker is down, so that B gets the message again;
/// B is an idempotent consumer or not.
fn ack_lost(idempotent: bool) -> Sim {
    let mut s = figures::broker();
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            svc.idempotent_consumer = idempotent && svc.id == "b";
        }
    }
    let mut sim = Sim::new(&s).unwrap();
    let (a, broker) = (node(&sim, "a"), node(&sim, "broker"));
    let mut c = Checker::default();
    sim.trigger(a).unwrap();
    // B works from 80 ms to 980 ms and acks; the ack would reach the broker at 1.02 s.
    sim.run_until(ms(1_000));
    c.feed(&sim);
    sim.disrupt(Disruption::Crash(broker)).unwrap();
    sim.run_until(ms(1_500));
    c.feed(&sim);
    sim.disrupt(Disruption::Recover(broker)).unwrap();
    finish_checked(&mut sim, &mut c);
    assert_eq!(c.acked, c.published, "the message was acked in the end");
    sim
}

#[wasm_bindgen_test(unsupported = test)]
fn an_idempotent_consumer_skips_a_message_it_already_processed() {
    let b_works = |sim: &Sim| {
        count(sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == NodeId(2)))
    };
    let skipped = |sim: &Sim| count(sim, |k| matches!(k, EventKind::DuplicateSkipped { .. }));

    let plain = ack_lost(false);
    assert_eq!(deliveries(&plain).len(), 2);
    assert_eq!((b_works(&plain), skipped(&plain)), (2, 0), "without the option: twice");

    let careful = ack_lost(true);
    let d = deliveries(&careful);
    assert_eq!(d.len(), 2);
    assert_eq!(d[1], (d[0].0, true));
    assert_eq!((b_works(&careful), skipped(&careful)), (1, 1), "with it: once");
    // The skipped delivery was acked at once: its job started and ended at one instant.
    let instants: Vec<SimTime> = careful
        .trace()
        .since(0)
        .filter(|e| matches!(e.kind, EventKind::DuplicateSkipped { .. } | EventKind::Acked { .. }))
        .map(|e| e.at)
        .collect();
    assert_eq!(instants, [ms(1_540), ms(1_580)], "skipped on arrival, acked one trip later");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_idempotent_consumer_that_crashes_before_its_record_does_the_work_again() {
    let mut s = figures::broker();
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            svc.idempotent_consumer = true;
        }
    }
    let mut sim = Sim::new(&s).unwrap();
    let (a, b) = (node(&sim, "a"), node(&sim, "b"));
    sim.trigger(a).unwrap();
    // B is at work on the message (80 ms to 980 ms) when it crashes: no record was made.
    sim.run_until(ms(500));
    sim.disrupt(Disruption::Crash(b)).unwrap();
    sim.disrupt(Disruption::Recover(b)).unwrap();
    sim.run_until_idle(1_000);
    assert_eq!(deliveries(&sim).len(), 2);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::DuplicateSkipped { .. })), 0);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 1);
}

/// Figure 3 with B's publish in `mode`, and the broker down from 100 ms to 1 s, around B's
/// publish at 310 ms; A calls B at 0. Runs to the end, checked, with B crashing from `b_down`
/// if given.
fn hybrid_publishing(
    mode: callflow_sim::scenario::PublishMode,
    broker_down: bool,
    b_down: Option<(u64, u64)>,
) -> Sim {
    use callflow_sim::scenario::{Fault, FaultSpec};
    let mut s = figures::hybrid();
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            for step in &mut svc.on_request {
                if let Step::Publish { mode: m, .. } = step {
                    *m = mode;
                }
            }
        }
    }
    let fault = |at_ms: f64, fault| FaultSpec { at_ms, fault };
    if broker_down {
        s.faults.push(fault(100.0, Fault::Crash { node: "broker".into() }));
        s.faults.push(fault(1_000.0, Fault::Recover { node: "broker".into() }));
    }
    if let Some((down, up)) = b_down {
        s.faults.push(fault(down as f64, Fault::Crash { node: "b".into() }));
        s.faults.push(fault(up as f64, Fault::Recover { node: "b".into() }));
    }
    let mut sim = Sim::new(&s).unwrap();
    let mut c = Checker::default();
    sim.trigger(node(&sim, "a")).unwrap();
    finish_checked(&mut sim, &mut c);
    sim
}

/// What A heard back: when, and whether it was an answer or an error.
fn a_heard(sim: &Sim) -> Vec<(SimTime, bool)> {
    let a = node(sim, "a");
    sim.trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::CallReturned { node, ok, .. } if node == a => Some((e.at, ok)),
            _ => None,
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn fire_and_forget_to_a_broker_that_is_down_loses_the_message_and_a_hears_ok() {
    use callflow_sim::scenario::PublishMode;
    let sim = hybrid_publishing(PublishMode::FireAndForget, true, None);
    assert_eq!(a_heard(&sim), [(ms(370), true)], "A got its OK as if all was well");
    let broker = node(&sim, "broker");
    let drops = at_of(&sim, |k| matches!(k, EventKind::Dropped { node, .. } if *node == broker));
    assert_eq!(drops, [ms(350)], "B's publish reached a broker that was down");
    assert!(deliveries(&sim).is_empty(), "C never gets the message, after the recovery either");
    assert_eq!(count(&sim, |k| matches!(k, EventKind::PublishFailed { .. })), 0, "B never knew");
}

#[wasm_bindgen_test(unsupported = test)]
fn awaiting_the_confirm_makes_a_wait_for_it_and_a_missing_one_fails_a_after_b_did_the_work() {
    use callflow_sim::scenario::PublishMode;
    let mode = PublishMode::AwaitConfirm { timeout_ms: 200.0 };

    // All well: B waits the broker's round trip (80 ms) before it answers, and so does A.
    let sim = hybrid_publishing(mode, false, None);
    assert_eq!(a_heard(&sim), [(ms(450), true)]);
    let waited: Vec<SimDuration> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::PublishConfirmed { waited, .. } => Some(waited),
            _ => None,
        })
        .collect();
    assert_eq!(waited, [SimDuration::from_millis(80)]);
    assert_eq!(deliveries(&sim).len(), 1);

    // The broker is down: no confirm by 510 ms, so B's job fails and A gets an error at
    // 570 ms, for work B had done.
    let sim = hybrid_publishing(mode, true, None);
    assert_eq!(a_heard(&sim), [(ms(570), false)]);
    let b = node(&sim, "b");
    let failed: Vec<(SimTime, bool)> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::PublishFailed { node, job: Some(_), timed_out, .. } if node == b => {
                Some((e.at, timed_out))
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(ms(510), true)]);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == b)), 1);
    assert!(deliveries(&sim).is_empty(), "and C never gets it");
}

/// The outbox's stored messages and the messages C was delivered, by id.
fn outbox_and_c(sim: &Sim) -> (Vec<MsgId>, Vec<(MsgId, bool)>) {
    let stored = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::OutboxStored { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    (stored, deliveries(sim))
}

#[wasm_bindgen_test(unsupported = test)]
fn with_an_outbox_a_hears_ok_at_once_and_c_gets_the_message_once_the_broker_is_back() {
    use callflow_sim::scenario::PublishMode;
    let mode = PublishMode::Outbox { retry_ms: 200.0 };
    let sim = hybrid_publishing(mode, true, None);
    assert_eq!(a_heard(&sim), [(ms(370), true)], "A's answer did not wait for the broker");
    let (stored, to_c) = outbox_and_c(&sim);
    assert_eq!(stored.len(), 1);
    assert_eq!(to_c, [(stored[0], false)], "C got exactly the stored message, once");
    // The relay published at 310, 510, 710 and 910 ms into a broker that was down, and at
    // 1.11 s into one that was back: confirmed on the fifth try.
    let b = node(&sim, "b");
    let relayed = at_of(
        &sim,
        |k| matches!(k, EventKind::Sent { from, payload: Payload::PublishTo { .. }, .. } if *from == b),
    );
    assert_eq!(relayed, [ms(310), ms(510), ms(710), ms(910), ms(1_110)]);
    let failed = count(&sim, |k| matches!(k, EventKind::PublishFailed { job: None, .. }));
    assert_eq!(failed, 4);
    assert_eq!(
        count(&sim, |k| matches!(k, EventKind::OutboxRelayed { attempts: 5, .. })),
        1,
        "confirmed, and out of the outbox"
    );
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Acked { .. })), 1, "C acked it");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_outbox_message_survives_its_services_crash() {
    use callflow_sim::scenario::PublishMode;
    let mode = PublishMode::Outbox { retry_ms: 200.0 };
    // B crashes at 600 ms, with the message still in its outbox, and is back at 1.5 s.
    let sim = hybrid_publishing(mode, true, Some((600, 1_500)));
    assert_eq!(a_heard(&sim), [(ms(370), true)]);
    let (stored, to_c) = outbox_and_c(&sim);
    assert_eq!(to_c, [(stored[0], false)], "C got it after B's recovery");
    let b = node(&sim, "b");
    let relayed = at_of(
        &sim,
        |k| matches!(k, EventKind::Sent { from, payload: Payload::PublishTo { .. }, .. } if *from == b),
    );
    assert_eq!(relayed, [ms(310), ms(510), ms(1_500)], "nothing while B was down");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_job_that_fails_after_staging_an_outbox_message_stores_nothing() {
    use callflow_sim::scenario::{Fault, FaultSpec, PublishMode};
    // B stages the message, then calls D, which is down: B's call times out and its job
    // fails; the outbox stays empty and C hears nothing.
    let mut s = figures::hybrid();
    let d = consumer_that_calls(None).nodes[3].clone();
    s.nodes.push(d);
    s.links.push(callflow_sim::scenario::LinkSpec {
        a: "b".into(),
        b: "d".into(),
        protocol: callflow_sim::Protocol::Http,
        latency: LatencySpec::Constant { ms: 10.0 },
    });
    for n in &mut s.nodes {
        if let NodeSpec::Service(svc) = n {
            if svc.id == "b" {
                if let Some(Step::Publish { mode, .. }) = svc.on_request.get_mut(1) {
                    *mode = PublishMode::Outbox { retry_ms: 200.0 };
                }
                svc.on_request.push(Step::Call { service: "d".into() });
                svc.client = ClientSpec { timeout_ms: Some(100.0), ..ClientSpec::default() };
            }
        }
    }
    s.faults = vec![FaultSpec { at_ms: 0.0, fault: Fault::Crash { node: "d".into() } }];
    let mut sim = Sim::new(&s).unwrap();
    let mut c = Checker::default();
    sim.trigger(node(&sim, "a")).unwrap();
    finish_checked(&mut sim, &mut c);
    assert_eq!(a_heard(&sim), [(ms(470), false)], "B answered with an error");
    let (stored, to_c) = outbox_and_c(&sim);
    assert!(stored.is_empty() && to_c.is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_publish_mode_reads_from_json_and_a_bad_period_names_the_field() {
    use callflow_sim::scenario::PublishMode;
    let step: Step = serde_json::from_str(
        r#"{ "do": "publish", "broker": "broker", "queue": "events",
             "mode": { "outbox": { "retry_ms": 250 } } }"#,
    )
    .unwrap();
    let Step::Publish { mode, .. } = step else { panic!("a publish step") };
    assert_eq!(mode, PublishMode::Outbox { retry_ms: 250.0 });
    let plain: Step =
        serde_json::from_str(r#"{ "do": "publish", "broker": "b", "queue": "q" }"#).unwrap();
    assert!(matches!(plain, Step::Publish { mode: PublishMode::FireAndForget, .. }));

    let bad = |mode: PublishMode| {
        let mut s = figures::hybrid();
        for n in &mut s.nodes {
            if let NodeSpec::Service(svc) = n {
                if let Some(Step::Publish { mode: m, .. }) = svc.on_request.get_mut(1) {
                    *m = mode;
                }
            }
        }
        Sim::new(&s).unwrap_err()
    };
    let e = bad(PublishMode::AwaitConfirm { timeout_ms: 0.0 });
    assert_eq!(e.field(), "nodes[1].on_request[1].mode.timeout_ms");
    let e = bad(PublishMode::Outbox { retry_ms: f64::NAN });
    assert_eq!(e.field(), "nodes[1].on_request[1].mode.retry_ms");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lost_confirm_makes_the_relay_publish_again_and_an_idempotent_consumer_works_once() {
    use callflow_sim::scenario::{Fault, FaultSpec, PublishMode};
    // The relay's first publish reaches the broker at 350 ms; its confirm would reach B at
    // 390 ms, but B is down from 370 to 400 ms. Back up, the relay publishes the message
    // again: the queue gets a second copy, under the same id.
    let run = |idempotent: bool| {
        let mut s = figures::hybrid();
        for n in &mut s.nodes {
            if let NodeSpec::Service(svc) = n {
                if let Some(Step::Publish { mode, .. }) = svc.on_request.get_mut(1) {
                    *mode = PublishMode::Outbox { retry_ms: 200.0 };
                }
                svc.idempotent_consumer = idempotent;
            }
        }
        s.faults = vec![
            FaultSpec { at_ms: 370.0, fault: Fault::Crash { node: "b".into() } },
            FaultSpec { at_ms: 400.0, fault: Fault::Recover { node: "b".into() } },
        ];
        let mut sim = Sim::new(&s).unwrap();
        let mut c = Checker::default();
        sim.trigger(node(&sim, "a")).unwrap();
        finish_checked(&mut sim, &mut c);
        sim
    };
    for idempotent in [false, true] {
        let sim = run(idempotent);
        let (stored, to_c) = outbox_and_c(&sim);
        assert_eq!(to_c, [(stored[0], false), (stored[0], false)], "two copies of one message");
        let c = node(&sim, "c");
        let works = count(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == c));
        let skipped = count(&sim, |k| matches!(k, EventKind::DuplicateSkipped { .. }));
        let expected = if idempotent { (1, 1) } else { (2, 0) };
        assert_eq!((works, skipped), expected, "idempotent consumer: {idempotent}");
        assert_eq!(count(&sim, |k| matches!(k, EventKind::Acked { .. })), 2, "each copy acked");
    }
}
