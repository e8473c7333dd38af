//! The page: an introduction, the three figures in order, the three side by side, and two
//! figures beyond them.

use leptos::prelude::*;

use crate::catalog::FigureKind;
use crate::components::{Announcer, Compare, Figure, Problems};
use crate::export::split_query;
use crate::live::{media_matches, prefers_reduced_motion, Voice};
use crate::options::{self, Options, Shown};

/// On a narrow screen held upright the figures stack their boxes vertically.
const NARROW: &str = "(max-width: 700px) and (orientation: portrait)";

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let tall = RwSignal::new(media_matches(NARROW));
    let handle = window_event_listener(leptos::ev::resize, move |_| {
        let now = media_matches(NARROW);
        if tall.get_untracked() != now {
            tall.set(now);
        }
    });
    on_cleanup(move || handle.remove());
    let autoplay = !prefers_reduced_motion();
    let voice = Voice::new();
    provide_context(voice);

    // The page's address may hold one figure's run, as its share link wrote it.
    let search = window().location().search().unwrap_or_default();
    let (mut linked, mut problems) = options::read(None, &split_query(&search));
    // The page's own words and controls are not for a link to change: those options are for
    // embeds.
    if let Some(o) = linked.as_mut() {
        let set = [
            ("caption", o.caption.is_some()),
            ("controls", o.shown != Shown::ALL),
            ("parent", o.parent.is_some()),
        ];
        for (key, _) in set.iter().filter(|(_, on)| *on) {
            problems
                .push(format!("{key}: only an embedded figure takes this option; ignored here."));
        }
        o.caption = None;
        o.shown = Shown::ALL;
        o.parent = None;
    }
    let page_problems = if linked.is_none() { std::mem::take(&mut problems) } else { Vec::new() };
    let figure = |kind: FigureKind| match &linked {
        Some(o) if o.kind == kind => view! {
            <Figure options=o.clone() problems=problems.clone() tall=tall in_page=true scroll_to=true />
        },
        _ => view! { <Figure options=Options::new(kind) tall=tall in_page=true /> },
    };
    let figures = FigureKind::ALL.into_iter().map(figure).collect_view();
    let beyond = FigureKind::BEYOND.into_iter().map(figure).collect_view();

    view! {
        <header class="intro">
            <h1>"callflow"</h1>
            <p class="lede">"How microservices talk to each other, as live simulations you can poke."</p>
            <p>
                "Services talk in two ways. "<strong>"Synchronously"</strong>", one asks another over HTTP \
                and waits for the answer before it can go on. "<strong>"Asynchronously"</strong>", one hands \
                a message to a broker and goes on at once; whoever the message is for picks it up in its own \
                time. Real systems mix the two."
            </p>
            <p>
                "Each figure below is a small simulation running in this page. Press its button to start \
                something, change the speed, step one event at a time, and change how slow each link and \
                each service is. Tokens on the links are messages: "
                <span class="key request">"req"</span>" an HTTP request, "
                <span class="key response">"res"</span>" its response, "
                <span class="key publish">"msg"</span>" a message for the broker or from it, "
                <span class="key confirm">"ok"</span>" the broker's confirm, "
                <span class="key ack">"ack"</span>" a consumer's acknowledgement. A broker's box shows                 its queue: the messages waiting there, and those delivered to the consumer but not                 yet acknowledged (unacked)."
            </p>
            <Problems heading="This page's address has options that could not be used:" problems=page_problems />
            {(!autoplay).then(|| view! {
                <p class="hint">"Your system asks for reduced motion, so the figures start paused. Press Play or Step."</p>
            })}
        </header>
        <main>
            {figures}
            <Compare />
        <section class="beyond" aria-labelledby="beyond-heading">
            <h2 id="beyond-heading">"Beyond the three"</h2>
            <p>
                "Two more ways services talk, built from the same pieces. GraphQL mixes both styles in \
                one API. A Kafka-style log is a broker that keeps its messages in order, but only within \
                each partition."
            </p>
            {beyond}
        </section>
        </main>
        <Announcer voice=voice />
    }
}
