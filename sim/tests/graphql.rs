//! GraphQL's mix, checked from the trace: a mutation is a blocking HTTP call, and its effect
//! reaches a subscriber as a push over a connection opened once, which the server does not
//! wait for. Subscriptions end when either end crashes and are opened again when it is back;
//! what happens in between is not pushed. Every test runs natively and in wasm.

use callflow_sim::scenario::{Disruption, NodeSpec, SubscriptionSpec};
use callflow_sim::{figures, EventKind, NodeId, Payload, Problem, Protocol, Sim, SimTime};
use wasm_bindgen_test::wasm_bindgen_test;

fn ms(v: u64) -> SimTime {
    SimTime::from_micros(v * 1000)
}

fn node(sim: &Sim, id: &str) -> NodeId {
    sim.model().node_named(id).expect("figure has this node")
}

/// When each event of a kind happened, by a test of its fields.
fn times(sim: &Sim, want: impl Fn(&EventKind) -> bool) -> Vec<SimTime> {
    sim.trace().since(0).filter(|e| want(&e.kind)).map(|e| e.at).collect()
}

fn pushes_to(sim: &Sim, to: NodeId) -> Vec<SimTime> {
    times(
        sim,
        |k| matches!(k, EventKind::Sent { to: t, payload: Payload::Push { .. }, .. } if *t == to),
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn the_subscriber_subscribes_once_at_the_start() {
    let mut sim = Sim::new(&figures::graphql()).unwrap();
    sim.run_until_idle(100);
    let (api, c) = (node(&sim, "api"), node(&sim, "c"));
    let subscribed =
        times(&sim, |k| *k == EventKind::Subscribed { server: api, subscriber: c, topic: 0 });
    assert_eq!(subscribed, [ms(60)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_mutation_blocks_its_caller_and_its_event_is_pushed_without_waiting_for_the_subscriber() {
    let mut sim = Sim::new(&figures::graphql()).unwrap();
    let (a, api, c) = (node(&sim, "a"), node(&sim, "api"), node(&sim, "c"));
    sim.run_until(ms(100));
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);

    // A waits for the request, the server's work and the response: 60 + 300 + 60 ms.
    let waited: Vec<_> = sim
        .trace()
        .since(0)
        .filter_map(|e| match e.kind {
            EventKind::CallReturned { node, waited, .. } if node == a => Some(waited),
            _ => None,
        })
        .collect();
    assert_eq!(waited, [callflow_sim::SimDuration::from_millis(420)]);

    // The push leaves when the server's work is done, before its response, and C's work
    // (150 ms) ends after A has its answer: A never waited for C.
    assert_eq!(pushes_to(&sim, c), [ms(460)]);
    let response = times(
        &sim,
        |k| matches!(k, EventKind::Sent { from, payload: Payload::HttpResponse { .. }, .. } if *from == api),
    );
    assert_eq!(response, [ms(460)]);
    let c_done = times(&sim, |k| matches!(k, EventKind::WorkDone { node, .. } if *node == c));
    assert_eq!(c_done, [ms(670)]);
    let a_answered =
        times(&sim, |k| matches!(k, EventKind::CallReturned { node, .. } if *node == a));
    assert!(a_answered[0] < c_done[0]);
    let notified = times(
        &sim,
        |k| matches!(k, EventKind::Notified { node, subscribers: 1, .. } if *node == api),
    );
    assert_eq!(notified, [ms(460)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_subscriber_that_was_down_misses_what_happened_meanwhile_and_hears_again_once_back() {
    let mut sim = Sim::new(&figures::graphql()).unwrap();
    let (a, api, c) = (node(&sim, "a"), node(&sim, "api"), node(&sim, "c"));
    sim.run_until(ms(100));
    sim.disrupt(Disruption::Crash(c)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until(ms(1_000));
    assert!(pushes_to(&sim, c).is_empty(), "nobody to push to");
    let ended =
        times(&sim, |k| *k == EventKind::Unsubscribed { server: api, subscriber: c, topic: 0 });
    assert_eq!(ended, [ms(100)]);
    let zero = times(&sim, |k| matches!(k, EventKind::Notified { subscribers: 0, .. }));
    assert_eq!(zero.len(), 1);

    sim.disrupt(Disruption::Recover(c)).unwrap();
    sim.run_until(ms(1_100));
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    // Subscribed again 60 ms after it came back; the second mutation's event reaches it.
    let subscribed =
        times(&sim, |k| matches!(k, EventKind::Subscribed { subscriber, .. } if *subscriber == c));
    assert_eq!(subscribed, [ms(60), ms(1_060)]);
    assert_eq!(pushes_to(&sim, c).len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_subscription_from_a_client_that_crashed_on_the_way_is_not_taken() {
    let mut sim = Sim::new(&figures::graphql()).unwrap();
    let (a, c) = (node(&sim, "a"), node(&sim, "c"));
    // C asked at 0 ms and crashes before its request reaches the API at 60 ms.
    sim.run_until(ms(10));
    sim.disrupt(Disruption::Crash(c)).unwrap();
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    assert!(times(&sim, |k| matches!(k, EventKind::Subscribed { .. })).is_empty());
    let discarded = times(&sim, |k| matches!(k, EventKind::Discarded { .. }));
    assert_eq!(discarded, [ms(60)]);
    assert!(pushes_to(&sim, c).is_empty(), "nobody to push to");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_server_crash_ends_every_subscription_and_clients_subscribe_again_when_it_is_back() {
    let mut sim = Sim::new(&figures::graphql()).unwrap();
    let (a, api, c) = (node(&sim, "a"), node(&sim, "api"), node(&sim, "c"));
    sim.run_until(ms(100));
    sim.disrupt(Disruption::Crash(api)).unwrap();
    let ended =
        times(&sim, |k| *k == EventKind::Unsubscribed { server: api, subscriber: c, topic: 0 });
    assert_eq!(ended, [ms(100)]);
    sim.run_until(ms(500));
    sim.disrupt(Disruption::Recover(api)).unwrap();
    sim.run_until(ms(600));
    sim.trigger(a).unwrap();
    sim.run_until_idle(1_000);
    let subscribed = times(&sim, |k| matches!(k, EventKind::Subscribed { .. }));
    assert_eq!(subscribed, [ms(60), ms(560)]);
    assert_eq!(pushes_to(&sim, c).len(), 1, "one subscription, not two: no duplicate pushes");
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_subscriptions_are_typed_errors_that_name_the_field() {
    let with = |sub: SubscriptionSpec| {
        let mut s = figures::graphql();
        if let NodeSpec::Service(c) = &mut s.nodes[2] {
            c.subscribe = vec![sub];
        }
        s.validate().unwrap_err()
    };
    let sub =
        |server: &str, topic: &str| SubscriptionSpec { server: server.into(), topic: topic.into() };

    let e = with(sub("api", "orderShipped"));
    assert_eq!(e.field(), "nodes[2].subscribe[0].topic");
    assert_eq!(e.problem(), &Problem::UnknownTopic("orderShipped".into()));

    let e = with(sub("a", "orderPlaced"));
    assert_eq!(e.field(), "nodes[2].subscribe[0].topic", "A notifies nothing");

    let e = with(sub("c", "orderPlaced"));
    assert_eq!(e.problem(), &Problem::NotAService("c".into()), "not to itself");

    let mut s = figures::graphql();
    s.links[1].protocol = Protocol::Http;
    let e = s.validate().unwrap_err();
    assert_eq!(e.field(), "nodes[2].subscribe[0].server");
    assert!(matches!(e.problem(), Problem::NoLink { protocol: Protocol::WebSocket, .. }));
}
