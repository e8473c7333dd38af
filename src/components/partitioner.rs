//! The log figure's choice of how records find their partition: by key, or round robin.

use callflow_sim::scenario::Partitioner;
use leptos::prelude::*;

use crate::live::Live;
use crate::options::{partitioner, partitioner_name, set_partitioner};

/// A choice that starts the figure again with the other partitioner.
#[component]
pub fn PartitionerChoice(
    /// The log figure.
    live: Live,
) -> impl IntoView {
    let id = format!("{}-partitioner", live.kind.slug());
    let current = RwSignal::new(partitioner(&live.start_model()).unwrap_or_default());
    let on_change = move |ev: leptos::ev::Event| {
        let chosen = match event_target_value(&ev).as_str() {
            "round-robin" => Partitioner::RoundRobin,
            _ => Partitioner::ByKey,
        };
        if chosen == current.get_untracked() {
            return;
        }
        current.set(chosen);
        let mut model = live.start_model();
        set_partitioner(&mut model, chosen);
        let said = match chosen {
            Partitioner::ByKey => "Records now go to a partition by their key. The run starts again.",
            Partitioner::RoundRobin => {
                "Records now go to each partition in turn, whatever their key. The run starts again."
            }
        };
        live.rebuild(model, said.to_string());
    };
    let option = move |p: Partitioner, text: &'static str| {
        view! {
            <option value=partitioner_name(p) selected=move || current.get() == p>{text}</option>
        }
    };

    view! {
        <p class="partitioner">
            <label for=id.clone()>"Partition records "</label>
            <select id=id data-test="partitioner" on:change=on_change>
                {option(Partitioner::ByKey, "by key")}
                {option(Partitioner::RoundRobin, "round robin")}
            </select>
        </p>
    }
}
