//! What could not be used of a figure's or a page's options: a heading and a sentence each,
//! announced at once, all as text.

use leptos::prelude::*;

/// The list of problems under `heading`; nothing when there are none.
#[component]
pub fn Problems(
    /// What the list is about, such as "Some of this figure's options could not be used:".
    heading: &'static str,
    /// One sentence per problem.
    problems: Vec<String>,
) -> impl IntoView {
    (!problems.is_empty()).then(|| {
        view! {
            <div class="notice error problems" role="alert" data-test="problems">
                <p>{heading}</p>
                <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            </div>
        }
    })
}
