//! One live figure: its title and caption, the diagram, a status line in words, the
//! narration, the controls and the settings.

use leptos::prelude::*;

use crate::catalog::FigureKind;
use crate::components::{Controls, Diagram, NarrationLine, Settings};
use crate::live::Live;
use crate::playback::NodeState;

/// A figure with everything the reader needs to watch and poke it.
#[component]
pub fn Figure(
    /// Which of the three figures.
    kind: FigureKind,
    /// Lay out for a narrow screen.
    #[prop(into)]
    tall: Signal<bool>,
    /// Start the clock at once (false when the reader prefers reduced motion).
    autoplay: bool,
) -> impl IntoView {
    let live = Live::new(kind, tall, autoplay);
    let section = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = section.get() {
            crate::visibility::watch(&el, move |on_screen| live.set_visible(on_screen));
        }
    });

    let heading = format!("{}-heading", kind.slug());
    let labelled_by = heading.clone();
    let status = move || {
        live.frame.with(|f| {
            let mut parts = vec![format!("Simulated time {}", f.now)];
            for n in &f.nodes {
                let who = crate::narration::short_label(&n.label);
                match &n.state {
                    NodeState::Waiting { on, for_ } => {
                        parts.push(format!("{who} waiting for {on}: {for_}"))
                    }
                    NodeState::Working { .. } => parts.push(format!("{who} working")),
                    NodeState::Idle => {
                        if let Some(w) = n.last_wait {
                            parts.push(format!("{who} idle (last wait {w})"));
                        }
                    }
                    NodeState::Broker => {}
                }
            }
            if let Some(q) = &f.queue {
                parts.push(format!("queue {}: {} waiting, {} unacked", q.name, q.ready, q.unacked));
            }
            if f.lagging {
                parts.push("running behind the chosen speed: too many events per frame".into());
            }
            if f.idle && f.tokens.is_empty() {
                parts.push("nothing in flight".into());
            }
            parts.join(" · ")
        })
    };

    view! {
        <section node_ref=section class="figure" id=kind.slug() aria-labelledby=labelled_by data-figure=kind.slug()>
            <h2 id=heading>{format!("Figure {}. {}", kind.number(), kind.title())}</h2>
            <p class="caption">{kind.caption()}</p>
            <Diagram live=live />
            <p class="status" data-test="status">{status}</p>
            <NarrationLine text=live.narration announce=live.engaged />
            <Controls live=live />
            <Settings live=live />
        </section>
    }
}
