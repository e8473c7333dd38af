//! The page's one live region: it says what the figure in use narrates, so that screen readers
//! hear one figure at a time and never three autoplaying ones at once.

use leptos::prelude::*;

use crate::live::Voice;

/// A visually hidden, polite live region that carries the speaking figure's narration.
#[component]
pub fn Announcer(
    /// Which figure speaks and what it said last.
    voice: Voice,
) -> impl IntoView {
    view! {
        <p class="visually-hidden" aria-live="polite" aria-atomic="true" data-test="announcer">
            {move || voice.line.get()}
        </p>
    }
}
