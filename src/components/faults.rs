//! A figure's faults: crash and recover each node, the broker too; make a service slow and
//! normal again; make a link lossy and healthy again. Each applies at the run's current time
//! and is recorded with the run, so that its link reproduces it.

use callflow_sim::scenario::{Disruption, Role};
use callflow_sim::{LinkId, NodeId};
use leptos::prelude::*;

use crate::live::Live;
use crate::playback::{loss_text, slowness};

/// How much slower the slow button makes a service, in percent of its processing time.
pub const SLOW_PERCENT: u32 = 1000;
/// How much of what it carries the lossy button makes a link lose, per thousand.
pub const LOSS_PER_MILLE: u16 = 500;

/// The fault buttons of one figure.
#[component]
pub fn Faults(
    /// The figure these faults strike.
    live: Live,
) -> impl IntoView {
    let model = live.model();
    let frame = live.frame;
    let name = |id: NodeId| crate::narration::plain_name(&model, id);

    let nodes = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let id = NodeId(i as u16);
            let who = name(id);
            let slug = n.id.clone();
            // The frame lists the nodes in the model's order.
            let down = move || frame.with(|f| f.nodes.get(i).is_some_and(|v| v.down));
            let crash = {
                let who = who.clone();
                view! {
                    <button
                        type="button"
                        data-test=format!("crash-{slug}")
                        on:click=move |_| {
                            live.disrupt(if down() { Disruption::Recover(id) } else { Disruption::Crash(id) })
                        }
                    >
                        {move || if down() { format!("Recover {who}") } else { format!("Crash {who}") }}
                    </button>
                }
            };
            let slow = matches!(n.role, Role::Service(_)).then(|| {
                let slowed =
                    move || frame.with(|f| f.nodes.get(i).is_some_and(|v| v.slow_percent != 100));
                view! {
                    <button
                        type="button"
                        data-test=format!("slow-{}", n.id)
                        on:click=move |_| {
                            live.disrupt(Disruption::Slow(id, if slowed() { 100 } else { SLOW_PERCENT }))
                        }
                    >
                        {move || if slowed() { format!("{who} at normal speed") } else { format!("Slow {who} {}", slowness(SLOW_PERCENT)) }}
                    </button>
                }
            });
            view! { <span class="fault-pair">{crash}{slow}</span> }
        })
        .collect_view();

    let links = model
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ends = format!("{} ↔ {}", name(l.a), name(l.b));
            let test = format!("loss-{}-{}", model.node(l.a).id, model.node(l.b).id);
            let lossy = move || frame.with(|f| f.link_loss.get(i).is_some_and(|x| *x > 0));
            let link = LinkId(i as u16);
            view! {
                <button
                    type="button"
                    data-test=test
                    on:click=move |_| {
                        live.disrupt(Disruption::LinkLoss(link, if lossy() { 0 } else { LOSS_PER_MILLE }))
                    }
                >
                    {move || if lossy() { format!("Heal {ends}") } else { format!("{ends} loses {}", loss_text(LOSS_PER_MILLE)) }}
                </button>
            }
        })
        .collect_view();

    view! {
        <fieldset class="faults" data-test="faults">
            <legend>"Faults"</legend>
            <p class="hint">"Each applies now, at the run's current time, and goes into the run's link."</p>
            <div class="fault-buttons">{nodes}</div>
            <div class="fault-buttons">{links}</div>
        </fieldset>
    }
}
