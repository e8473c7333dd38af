//! The figure's picture: services and the broker as labelled boxes, HTTP and AMQP links drawn
//! apart, messages as tokens moving along the links, the broker's queue, and who is waiting;
//! a node that is down greyed and struck through, a slow one marked, a lossy link dotted.

use callflow_sim::scenario::Role;
use callflow_sim::{Protocol, SimDuration};
use leptos::prelude::*;

use crate::geometry::{self, Layout};
use crate::live::Live;
use crate::playback::{loss_text, slowness, Frame, NodeState, NodeView};

/// How many queue slots the broker box draws; more waiting messages show as a count.
const SLOTS: usize = 6;

/// The state line under a node, in words.
pub fn state_text(n: &NodeView) -> String {
    if n.down {
        return "down".into();
    }
    match &n.state {
        NodeState::Idle => "idle".to_string(),
        NodeState::Working { left } if *left == SimDuration::ZERO => "working · finishing".into(),
        NodeState::Working { left } => format!("working · {left} left"),
        NodeState::Waiting { on, for_ } => format!("waiting for {on} · {for_}"),
        NodeState::Broker => String::new(),
    }
}

/// The mark on a node's corner: down, or how slow; empty when neither.
pub fn badge_text(n: &NodeView) -> String {
    if n.down {
        "down".into()
    } else if n.slow_percent != 100 {
        format!("slow {}", slowness(n.slow_percent))
    } else {
        String::new()
    }
}

/// The jobs waiting for a worker, in words; empty when there are none.
pub fn inbox_text(n: &NodeView) -> String {
    match n.inbox {
        0 => String::new(),
        1 => "1 job in inbox".into(),
        k => format!("{k} jobs in inbox"),
    }
}

fn state_class(n: &NodeView) -> &'static str {
    match n.state {
        NodeState::Idle => "idle",
        NodeState::Working { .. } => "working",
        NodeState::Waiting { .. } => "waiting",
        NodeState::Broker => "broker",
    }
}

/// The SVG of one figure, redrawn from its frame.
#[component]
pub fn Diagram(
    /// The figure to draw.
    live: Live,
) -> impl IntoView {
    let kind = live.kind;
    let model = live.model();
    let frame = live.frame;
    let title_id = format!("{}-diagram-title", kind.slug());
    let labelled_by = title_id.clone();

    // The parts that only move when the layout changes: links and boxes.
    let statics = move || {
        let layout = Layout::of(kind, live.tall.get());
        let model = &model;
        let links = model
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (s, e) = layout.link_ends(model, l.a, l.b);
                let name = l.protocol.name();
                let class = match l.protocol {
                    Protocol::Http => "link http",
                    Protocol::Amqp => "link amqp",
                    Protocol::Kafka => "link kafka",
                    Protocol::WebSocket => "link websocket",
                };
                let (mx, my) = ((s.x + e.x) / 2.0, (s.y + e.y) / 2.0);
                let vertical = (e.y - s.y).abs() > (e.x - s.x).abs();
                // Clear of the tokens, which travel up to two lanes and a half token from the line.
                let (lx, ly) = if vertical { (mx + 42.0, my + 5.0) } else { (mx, my - 26.0) };
                // How many are on the wire goes under the name, or under the line.
                let count_y = if vertical { ly + 17.0 } else { my + 36.0 };
                // A lossy link says so above its name, or under the count.
                let loss_y = if vertical { ly - 18.0 } else { my + 50.0 };
                let anchor = if vertical { "start" } else { "middle" };
                let loss = move || frame.with(|f| f.link_loss.get(i).copied().unwrap_or(0));
                view! {
                    <g class=class class:lossy=move || { loss() > 0 } data-link=i>
                        <line x1=s.x y1=s.y x2=e.x y2=e.y />
                        <text class="link-label" x=lx y=ly text-anchor=anchor>{name}</text>
                        <text class="link-loss" x=lx y=loss_y text-anchor=anchor data-test="link-loss">
                            {move || match loss() {
                                0 => String::new(),
                                l => format!("loses {}", loss_text(l)),
                            }}
                        </text>
                        <text class="link-count" x=lx y=count_y text-anchor=anchor data-test="link-count">
                            {move || {
                                let n = frame.with(|f| f.on_links.get(i).copied().unwrap_or(0));
                                if n > 1 { format!("×{n}") } else { String::new() }
                            }}
                        </text>
                    </g>
                }
            })
            .collect_view();
        let nodes = model
            .nodes
            .iter()
            .map(|n| {
                let c = layout.centre(&n.id).unwrap_or(geometry::Point { x: 0.0, y: 0.0 });
                let is_broker = matches!(n.role, Role::Broker(_));
                let is_log = matches!(n.role, Role::Log(_));
                let (w, h) = layout.size_of(n);
                let id = n.id.clone();
                let id_for_state = id.clone();
                let id_for_inbox = id.clone();
                let view_of = move |f: &Frame| f.node(&id).cloned();
                let class = move || {
                    let v = frame.with(|f| view_of(f));
                    let st = v.as_ref().map_or("idle", state_class);
                    let down = if v.as_ref().is_some_and(|v| v.down) { " down" } else { "" };
                    let slow = if v.as_ref().is_some_and(|v| v.slow_percent != 100) { " slow" } else { "" };
                    format!("node {st}{down}{slow}")
                };
                let id_for_badge = n.id.clone();
                let badge = move || frame.with(|f| f.node(&id_for_badge).map(badge_text)).unwrap_or_default();
                let right = c.x + w / 2.0 - 8.0;
                let state = move || frame.with(|f| f.node(&id_for_state).map(state_text)).unwrap_or_default();
                let inbox = move || frame.with(|f| f.node(&id_for_inbox).map(inbox_text)).unwrap_or_default();
                let top = c.y - h / 2.0;
                let label_y = if is_broker || is_log { top + 22.0 } else { top + 28.0 };
                let queue = is_broker.then(|| queue_view(frame, c, h));
                let partitions = is_log.then(|| partitions_view(frame, c, w, h));
                view! {
                    <g class=class data-node=n.id.clone()>
                        <rect class="box" x=c.x - w / 2.0 y=c.y - h / 2.0 width=w height=h rx="10" />
                        <line class="strike" x1=c.x - w / 2.0 + 10.0 y1=c.y + h / 2.0 - 10.0 x2=c.x + w / 2.0 - 10.0 y2=c.y - h / 2.0 + 10.0 />
                        <text class="node-label" x=c.x y=label_y text-anchor="middle">{n.label.clone()}</text>
                        <g class="badge" data-test="node-badge">
                            {move || {
                                let text = badge();
                                (!text.is_empty()).then(|| {
                                    // Wide enough for the text at the badge's size.
                                    let width = 7.0 * text.chars().count() as f64 + 12.0;
                                    view! {
                                        <rect x=right - width y=top - 9.0 width=width height="16" rx="8" />
                                        <text x=right - width / 2.0 y=top + 3.0 text-anchor="middle">{text}</text>
                                    }
                                })
                            }}
                        </g>
                        {queue}
                        {partitions}
                        {(!is_broker && !is_log).then(|| view! {
                            <text class="node-state" x=c.x y=top + 52.0 text-anchor="middle" data-test="node-state">
                                {state}
                            </text>
                            <text class="node-inbox" x=c.x y=top + 71.0 text-anchor="middle" data-test="node-inbox">
                                {inbox}
                            </text>
                        })}
                    </g>
                }
            })
            .collect_view();
        view! {
            <g class="links">{links}</g>
            <g class="nodes">{nodes}</g>
        }
    };

    let view_box = move || {
        let l = Layout::of(kind, live.tall.get());
        format!("0 0 {} {}", l.width, l.height)
    };

    view! {
        <svg class="diagram" class:tall=move || live.tall.get() class:wide=move || !live.tall.get() viewBox=view_box role="img" aria-labelledby=labelled_by
            data-test="diagram">
            <title id=title_id>{describe(kind)}</title>
            {statics}
            <g class="tokens">
                <For
                    each=move || frame.with(|f| f.tokens.iter().map(|t| (t.id, t.kind, t.label)).collect::<Vec<_>>())
                    key=|t| t.0
                    let((id, kind, label))
                >
                    <g
                        class=format!("token {kind}")
                        data-token=kind
                        transform=move || {
                            frame.with(|f| f.token(id).map(|t| format!("translate({:.1} {:.1})", t.x, t.y)))
                                .unwrap_or_default()
                        }
                    >
                        <rect x="-18" y="-10" width="36" height="20" rx="10" />
                        <text y="4" text-anchor="middle">{label}</text>
                    </g>
                </For>
            </g>
        </svg>
    }
}

/// The broker's queue: slots for waiting messages and the counts.
fn queue_view(frame: RwSignal<Frame>, c: geometry::Point, h: f64) -> impl IntoView {
    let slot_w = 16.0;
    let gap = 4.0;
    let total = SLOTS as f64 * (slot_w + gap) - gap;
    let x0 = c.x - total / 2.0;
    let top = c.y - h / 2.0;
    let y = top + 50.0;
    let slots = (0..SLOTS)
        .map(|i| {
            let filled = move || frame.with(|f| f.queue.as_ref().is_some_and(|q| q.ready > i));
            view! {
                <rect class="slot" class:filled=filled x=x0 + i as f64 * (slot_w + gap) y=y width=slot_w height="16" rx="3" />
            }
        })
        .collect_view();
    let name = move || frame.with(|f| f.queue.as_ref().map(|q| format!("queue “{}”", q.name)));
    let counts = move || {
        frame.with(|f| {
            f.queue.as_ref().map(|q| format!("{} waiting · {} unacked", q.ready, q.unacked))
        })
    };
    view! {
        <g class="queue" data-test="queue">
            <text class="queue-name" x=c.x y=top + 42.0 text-anchor="middle">{name}</text>
            {slots}
            <text class="queue-count" x=c.x y=top + h - 12.0 text-anchor="middle">{counts}</text>
        </g>
    }
}

/// A log's partitions, a row each: its records by key (committed ones faded), and who reads
/// it; under them, whether each key's records were finished in order.
fn partitions_view(frame: RwSignal<Frame>, c: geometry::Point, w: f64, h: f64) -> impl IntoView {
    let (left, top) = (c.x - w / 2.0, c.y - h / 2.0);
    let (cell_w, gap, row_h) = (26.0, 3.0, 30.0);
    let rows = move || {
        frame.with(|f| {
            f.partitions
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let y = top + 36.0 + i as f64 * row_h;
                    let x0 = left + 34.0;
                    let cells = p
                        .cells
                        .iter()
                        .enumerate()
                        .map(|(k, &(offset, key, done))| {
                            let x = x0 + k as f64 * (cell_w + gap);
                            view! {
                                <g class="record" class:committed=done data-offset=offset>
                                    <rect x=x y=y width=cell_w height="20" rx="3" />
                                    <text x=x + cell_w / 2.0 y=y + 14.5 text-anchor="middle">{format!("k{key}")}</text>
                                </g>
                            }
                        })
                        .collect_view();
                    let more = p.records.saturating_sub(p.cells.last().map_or(0, |c| c.0 + 1));
                    let owner = match &p.owner {
                        Some(o) => format!("→ {o}"),
                        None => "no one".into(),
                    };
                    let more_x = x0 + crate::playback::PARTITION_CELLS as f64 * (cell_w + gap);
                    view! {
                        <g class="partition" data-partition=p.index>
                            <text class="partition-name" x=left + 10.0 y=y + 14.5>{format!("p{}", p.index)}</text>
                            {cells}
                            <text class="partition-more" x=more_x y=y + 14.5>{(more > 0).then(|| format!("+{more}"))}</text>
                            <text class="partition-owner" x=left + w - 8.0 y=y + 14.5 text-anchor="end">{owner}</text>
                        </g>
                    }
                })
                .collect_view()
        })
    };
    let order = move || frame.with(|f| f.order.as_ref().map(crate::playback::order_short));
    let broken = move || frame.with(|f| f.order.as_ref().is_some_and(|o| o.broken.is_some()));
    view! {
        <g class="partitions" data-test="partitions">{rows}</g>
        <text class="order" class:broken=broken x=c.x y=top + h - 10.0 text-anchor="middle" data-test="order">{order}</text>
    }
}

/// The picture in one sentence, for the SVG's title.
fn describe(kind: crate::catalog::FigureKind) -> &'static str {
    use crate::catalog::FigureKind::*;
    match kind {
        RequestResponse => "Diagram: Microservice A and Microservice B joined by an HTTP link.",
        Broker => {
            "Diagram: Microservice A, a message broker and Microservice B, joined by AMQP links."
        }
        Hybrid => {
            "Diagram: A joined to B over HTTP; B and C joined through a message broker over AMQP."
        }
        GraphQl => {
            "Diagram: client A joined to a GraphQL API over HTTP; the API joined to client C by a WebSocket."
        }
        Log => {
            "Diagram: Microservice A joined to a log with three partitions, which B1 and B2 read; the log's rows show each partition's records by key."
        }
    }
}
