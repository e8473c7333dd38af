//! One live figure: its title and caption, the diagram, a status line in words, the
//! narration, the controls and the settings.

use leptos::prelude::*;

use crate::catalog::FigureKind;
use crate::components::{Controls, Diagram, NarrationLine, Settings};
use crate::live::Live;
use crate::playback::Frame;

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
    let status = move || live.frame.with(Frame::summary);

    view! {
        <section node_ref=section class="figure" id=kind.slug() aria-labelledby=labelled_by data-figure=kind.slug()>
            <h2 id=heading>{format!("Figure {}. {}", kind.number(), kind.title())}</h2>
            <p class="caption">{kind.caption()}</p>
            <Diagram live=live />
            <Controls live=live />
            <p class="status" data-test="status">{status}</p>
            <NarrationLine text=live.narration />
            <Settings live=live />
        </section>
    }
}
