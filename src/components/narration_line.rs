//! The figure's narration: one sentence for what just happened, read out politely.

use leptos::prelude::*;

/// One line of narration, in a polite live region once `announce` is on.
#[component]
pub fn NarrationLine(
    /// The sentence to show.
    #[prop(into)]
    text: Signal<String>,
    /// Read changes out to screen readers.
    #[prop(into)]
    announce: Signal<bool>,
) -> impl IntoView {
    view! {
        <p
            class="narration"
            aria-live=move || if announce.get() { "polite" } else { "off" }
            aria-atomic="true"
        >
            {move || text.get()}
        </p>
    }
}
