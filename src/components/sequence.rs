//! The figure's sequence diagram: a lane per node, time running down, the messages as arrows,
//! who is held by a call as a bar, what went wrong as marks; with buttons to scroll back in
//! simulated time and to zoom, and the newest messages in words for screen readers.

use leptos::prelude::*;

use crate::geometry::Layout;
use crate::live::Live;
use crate::sequence::{
    default_span, ArrowView, Canvas, Drawing, MarkKind, MarkView, Style, Viewport, BAR_W, HEADER,
};

/// The height of the time axis, in SVG units: the tall layout has more room down than across.
const WIDE_HEIGHT: f64 = 260.0;
const TALL_HEIGHT: f64 = 380.0;

/// The live sequence diagram of one figure.
#[component]
pub fn SequenceDiagram(
    /// The figure whose run is drawn.
    live: Live,
) -> impl IntoView {
    let kind = live.kind;
    let span = live.with_playback(|p| default_span(p.sim().model()));
    let viewport = RwSignal::new(Viewport::new(span));
    let size = move || {
        let tall = live.tall.get();
        let width = Layout::of(kind, tall).width;
        Canvas { width, height: if tall { TALL_HEIGHT } else { WIDE_HEIGHT } }
    };
    let drawing = Memo::new(move |_| {
        live.frame.track();
        let (vp, frame) = (viewport.get(), size());
        live.with_playback(|p| p.sequence().draw(p.sim().model(), &vp, p.now(), frame))
    });
    let recent = Memo::new(move |_| {
        live.frame.track();
        live.with_playback(|p| p.sequence().recent(p.sim().model(), p.now()))
    });

    let now = move || live.frame.with_untracked(|f| f.now);
    let earlier = move |_| {
        let oldest = live.with_playback(|p| p.sequence().oldest());
        viewport.update(|v| *v = v.earlier(now(), oldest));
    };
    let later = move |_| viewport.update(|v| *v = v.later(now()));
    let follow = move |_| viewport.update(|v| *v = v.follow());
    let zoom = move |factor: f64| viewport.update(|v| *v = v.zoom(factor, now()));

    let title_id = format!("{}-sequence-title-{}", kind.slug(), live.id);
    let desc_id = format!("{}-sequence-desc-{}", kind.slug(), live.id);
    let (labelled_by, described_by) = (title_id.clone(), desc_id.clone());
    let lanes = live.with_playback(|p| {
        let model = p.sim().model();
        (0..model.nodes.len())
            .map(|i| crate::sequence::lane_name(model, callflow_sim::NodeId(i as u16)))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let desc = move || {
        drawing.with(|d| {
            format!(
                "Lanes {lanes}; simulated time runs down, from {} to {}. {} messages, {} calls \
                 under way or done, {} marks in view. Solid heads: HTTP, the sender waits; open \
                 heads: the broker's traffic, nobody waits.",
                at(d.from),
                at(d.to),
                d.arrows.len(),
                d.bars.len(),
                d.marks.len()
            )
        })
    };
    let window = move || drawing.with(|d| format!("{} – {}", at(d.from), at(d.to)));

    view! {
        <div class="sequence" data-test="sequence">
            <svg
                class="sequence-diagram"
                class:tall=move || live.tall.get()
                viewBox=move || drawing.with(|d| format!("0 0 {} {}", d.width, d.height))
                role="img"
                aria-labelledby=labelled_by
                aria-describedby=described_by
            >
                <title id=title_id>{format!("Sequence diagram: {}", kind.title())}</title>
                <desc id=desc_id>{desc}</desc>
                {move || drawing.with(picture)}
            </svg>
            <div class="sequence-controls" role="group" aria-label="Sequence diagram: time shown">
                <button type="button" data-test="seq-earlier" on:click=earlier>"Earlier"</button>
                <button type="button" data-test="seq-later" on:click=later disabled=move || viewport.with(Viewport::following)>"Later"</button>
                <button type="button" data-test="seq-now" on:click=follow aria-pressed=move || viewport.with(|v| v.following().to_string())>"Follow now"</button>
                <button type="button" data-test="seq-zoom-in" on:click=move |_| zoom(0.5) aria-label="Zoom in: show less time">"−"</button>
                <button type="button" data-test="seq-zoom-out" on:click=move |_| zoom(2.0) aria-label="Zoom out: show more time">"+"</button>
                <span class="sequence-window" data-test="seq-window">{window}</span>
            </div>
            <div class="visually-hidden">
                <p>"The latest messages in the sequence diagram:"</p>
                <ol>{move || recent.get().into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ol>
            </div>
        </div>
    }
}

/// A time since the start, as the status line says it.
fn at(t: callflow_sim::SimTime) -> String {
    (t - callflow_sim::SimTime::ZERO).to_string()
}

/// Everything inside the SVG for one drawing, back to front.
fn picture(d: &Drawing) -> impl IntoView {
    let bottom = d.height;
    let width = d.width;
    let ticks = d
        .ticks
        .iter()
        .map(|t| {
            view! {
                <line class="tick" x1="0" x2=width y1=t.y y2=t.y />
                <text class="tick-label" x="2" y=t.y - 3.0>{t.label.clone()}</text>
            }
        })
        .collect_view();
    let lanes = d
        .lanes
        .iter()
        .map(|l| {
            view! {
                <line class="lane" x1=l.x x2=l.x y1=HEADER y2=bottom />
                <text class="lane-name" x=l.x y="20" text-anchor="middle">{l.name.clone()}</text>
            }
        })
        .collect_view();
    let bars = d
        .bars
        .iter()
        .map(|b| {
            view! {
                <rect class="activation" class:open=b.open data-test="activation"
                    x=b.x - BAR_W / 2.0 y=b.y1 width=BAR_W height=(b.y2 - b.y1).max(0.0) />
            }
        })
        .collect_view();
    let arrows = d.arrows.iter().map(arrow).collect_view();
    let marks = d.marks.iter().map(mark).collect_view();
    let now = d.now_y.map(|y| {
        view! {
            <line class="now" x1="0" x2=width y1=y y2=y />
            <text class="now-label" x=width - 2.0 y=y - 3.0 text-anchor="end">"now"</text>
        }
    });
    view! {
        <g class="ticks" aria-hidden="true">{ticks}</g>
        <g class="lanes">{lanes}</g>
        <g class="activations">{bars}</g>
        <g class="arrows">{arrows}</g>
        <g class="marks">{marks}</g>
        {now}
    }
}

fn arrow(a: &ArrowView) -> impl IntoView {
    let points = |ps: [(f64, f64); 3], order: [usize; 3]| {
        order
            .iter()
            .map(|&i| format!("{:.1},{:.1}", ps[i].0, ps[i].1))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // A solid head for HTTP; an open one, two strokes, for the broker's traffic.
    let head = a.head.map(|h| match a.style {
        Style::Sync => view! { <polygon class="head" points=points(h, [0, 1, 2]) /> }.into_any(),
        Style::Async => view! { <polyline class="head" points=points(h, [1, 0, 2]) /> }.into_any(),
    });
    let (mx, my) = a.label_at;
    let class = format!("arrow {} {} {}", a.style.name(), a.kind, a.fate);
    view! {
        <g class=class data-arrow=a.kind data-style=a.style.name() data-fate=a.fate>
            <line x1=a.x1 y1=a.y1 x2=a.x2 y2=a.y2 />
            {head}
            <text class="arrow-label" x=mx y=my text-anchor="middle">{a.label}</text>
        </g>
    }
}

fn mark(m: &MarkView) -> impl IntoView {
    // A cross for what is lost, a clock for a timeout, a ring for what is ignored, a triangle
    // for a node back up, a square for the broker's refusals.
    let symbol = match m.kind {
        MarkKind::Dropped(_) | MarkKind::Crashed => "M-5,-5L5,5M-5,5L5,-5",
        MarkKind::TimedOut | MarkKind::GaveUp => "M0,-6A6,6 0 1 1 0,6A6,6 0 1 1 0,-6M0,-3V0H3",
        MarkKind::Discarded => "M0,-4A4,4 0 1 1 0,4A4,4 0 1 1 0,-4",
        MarkKind::Recovered => "M0,-6L6,5H-6Z",
        MarkKind::Overflowed | MarkKind::DeadLettered => "M-5,-5H5V5H-5Z",
    };
    let (dx, anchor) = if m.label_left { (-9.0, "end") } else { (9.0, "start") };
    view! {
        <g class=format!("mark {}", m.kind.class()) data-mark=m.kind.class() transform=format!("translate({:.1} {:.1})", m.x, m.y)>
            <path d=symbol />
            <text x=dx y=m.label_dy + 4.0 text-anchor=anchor>{m.kind.label()}</text>
        </g>
    }
}
