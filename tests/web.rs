//! The components in a real browser (`wasm-pack test --headless --chrome`): each test mounts a
//! figure into the page, uses its controls as a reader would, and reads the DOM.

#![cfg(target_arch = "wasm32")]

use callflow::catalog::FigureKind;
use callflow::components::Figure;
use callflow::options::Options;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts one paused figure into a fresh element of its own and returns that element.
fn mount(kind: FigureKind) -> Element {
    let doc = document();
    let host = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&host).unwrap();
    let mut options = Options::new(kind);
    options.autoplay = Some(false);
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        view! { <Figure options=options tall=false in_page=true /> }
    });
    // The figure lives as long as the test page.
    handle.forget();
    host
}

fn find(host: &Element, selector: &str) -> Element {
    host.query_selector(selector).unwrap().unwrap_or_else(|| panic!("no {selector}"))
}

fn count(host: &Element, selector: &str) -> u32 {
    host.query_selector_all(selector).unwrap().length()
}

async fn click(host: &Element, selector: &str) {
    find(host, selector).unchecked_into::<HtmlElement>().click();
    tick().await;
}

fn class_of(host: &Element, selector: &str) -> String {
    find(host, selector).get_attribute("class").unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_figure_starts_with_one_request_on_the_wire_and_a_waiting() {
    let host = mount(FigureKind::RequestResponse);
    tick().await;
    assert_eq!(count(&host, "[data-token=request]"), 1);
    assert!(class_of(&host, "[data-node=a]").contains("waiting"));
    assert_eq!(
        find(&host, "[data-test=play]").get_attribute("data-playing").as_deref(),
        Some("false")
    );
    assert_eq!(
        find(&host, "h2").text_content().unwrap(),
        "Figure 1. Synchronous: an HTTP request and its response"
    );
}

#[wasm_bindgen_test]
async fn step_moves_one_event_and_reset_clears() {
    let host = mount(FigureKind::RequestResponse);
    click(&host, "[data-test=step]").await;
    assert_eq!(count(&host, "[data-token=request]"), 0, "the request arrived");
    assert!(class_of(&host, "[data-node=b]").contains("working"));
    assert!(find(&host, "[data-test=status]")
        .text_content()
        .unwrap()
        .starts_with("Simulated time 60 ms"));

    click(&host, "[data-test=reset]").await;
    assert_eq!(count(&host, ".token"), 0);
    assert!(class_of(&host, "[data-node=a]").contains("idle"));
    assert!(find(&host, ".narration").text_content().unwrap().starts_with("Reset to 0 ms"));
}

#[wasm_bindgen_test]
async fn publishing_never_marks_the_publisher_waiting() {
    let host = mount(FigureKind::Broker);
    for _ in 0..3 {
        click(&host, "[data-test=act]").await;
    }
    for _ in 0..12 {
        assert!(!class_of(&host, "[data-node=a]").contains("waiting"));
        click(&host, "[data-test=step]").await;
    }
    let counts = find(&host, ".queue-count").text_content().unwrap();
    assert!(counts.ends_with("· 1 unacked"), "{counts}");
}

#[wasm_bindgen_test]
async fn the_page_speaks_for_the_figure_in_use_only() {
    let doc = document();
    let host = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&host).unwrap();
    leptos::mount::mount_to(host.clone().unchecked_into(), callflow::App).forget();
    tick().await;

    let voice = find(&host, "[data-test=announcer]");
    assert_eq!(voice.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(voice.text_content().unwrap(), "", "silent until the reader uses a figure");

    click(&host, "[data-figure=hybrid] [data-test=step]").await;
    let hybrid = find(&host, "[data-figure=hybrid] [data-test=narration]").text_content().unwrap();
    assert_eq!(voice.text_content().unwrap(), format!("At 60 ms: {hybrid}"));

    click(&host, "[data-figure=sync] [data-test=step]").await;
    let sync = find(&host, "[data-figure=sync] [data-test=narration]").text_content().unwrap();
    assert_eq!(voice.text_content().unwrap(), format!("At 60 ms: {sync}"));
    assert_ne!(sync, hybrid);

    click(&host, "[data-figure=sync] [data-test=play]").await;
    assert!(voice.text_content().unwrap().starts_with("Playing from"));
}

#[wasm_bindgen_test]
async fn every_input_has_a_label() {
    let host = mount(FigureKind::Hybrid);
    let inputs = host.query_selector_all("input").unwrap();
    assert!(inputs.length() >= 7);
    for i in 0..inputs.length() {
        let input: Element = inputs.item(i).unwrap().unchecked_into();
        let id = input.id();
        let labelled = input.get_attribute("aria-label").is_some()
            || (!id.is_empty()
                && host.query_selector(&format!("label[for='{id}']")).unwrap().is_some());
        assert!(labelled, "input {i} has no label");
    }
}

#[wasm_bindgen_test]
async fn a_refused_setting_says_why_and_keeps_the_value() {
    let host = mount(FigureKind::Hybrid);
    let field: HtmlInputElement = find(&host, "input[type=text]").unchecked_into();
    field.set_value("-40");
    field.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    tick().await;
    let notice = find(&host, "[data-test=notice]");
    assert!(notice.get_attribute("class").unwrap().contains("error"));
    assert!(notice.text_content().unwrap().contains("the setting is unchanged"));
    assert_eq!(field.value(), "60");

    field.set_value("250");
    field.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    tick().await;
    assert!(!notice.get_attribute("class").unwrap().contains("error"));
    assert!(notice.text_content().unwrap().starts_with("Latency now 250 ms"));
    assert_eq!(field.value(), "250");
}

#[wasm_bindgen_test]
async fn a_mounted_element_keeps_its_figure_in_a_shadow_root_and_says_what_it_could_not_use() {
    let doc = document();
    let host: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-callflow", "hybrid").unwrap();
    host.set_attribute("data-work-c", "5000").unwrap();
    host.set_attribute("data-controls", "act,play").unwrap();
    host.set_attribute("data-caption", "<b>not bold</b>").unwrap();
    host.set_attribute("data-speed", "fast").unwrap();
    host.set_attribute("data-v-7ba5bd90", "").unwrap(); // a framework's, not ours
    doc.body().unwrap().append_child(&host).unwrap();
    callflow::embed::mount(host.clone(), false, "http://127.0.0.1/".into());
    tick().await;

    assert_eq!(host.children().length(), 0, "nothing lands in the host page's own tree");
    let root = host.shadow_root().expect("a shadow root");
    let inside = |s: &str| root.query_selector(s).unwrap().unwrap_or_else(|| panic!("no {s}"));
    assert_eq!(inside(".caption").text_content().unwrap(), "<b>not bold</b>");
    let problems = inside("[data-test=problems]").text_content().unwrap();
    assert!(problems.contains("speed: “fast”"), "{problems}");
    assert!(!problems.contains("v-7ba5bd90"), "other data- attributes are not ours: {problems}");
    assert!(inside("[data-test=step]").has_attribute("hidden"));
    assert!(!inside("[data-test=act]").has_attribute("hidden"));
    assert!(root.query_selector("fieldset.settings").unwrap().is_none());
    let sheets = root.adopted_style_sheets();
    assert_eq!(sheets.length(), 1, "the figure's styles, as one adopted sheet");
    let sheet: web_sys::CssStyleSheet = sheets.get(0).unchecked_into();
    assert!(sheet.css_rules().unwrap().length() > 50);

    // Mounting twice changes nothing.
    callflow::embed::mount(host.clone(), false, String::new());
    assert_eq!(root.query_selector_all("section.figure").unwrap().length(), 1);
}

/// Mounts one paused figure with these options into a fresh element and returns the element.
fn mount_with(options: Options) -> Element {
    let doc = document();
    let host = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        view! { <Figure options=options tall=false in_page=true /> }
    });
    handle.forget();
    host
}

#[wasm_bindgen_test]
async fn the_sequence_diagram_marks_a_lost_request_and_a_crash() {
    use callflow_sim::scenario::Disruption;
    use callflow_sim::{LinkId, NodeId, SimTime};

    // The link loses everything from the start, and B crashes at 100 ms: A, with no timeout,
    // waits for ever.
    let mut options = Options::new(FigureKind::RequestResponse);
    options.autoplay = Some(false);
    options.model.faults = vec![
        (SimTime::ZERO, Disruption::LinkLoss(LinkId(0), 1_000)),
        (SimTime::from_micros(100_000), Disruption::Crash(NodeId(1))),
    ];
    let host = mount_with(options);
    tick().await;
    assert_eq!(count(&host, "[data-test=sequence] [data-fate=on-wire]"), 1);
    for _ in 0..3 {
        click(&host, "[data-test=step]").await;
    }
    assert_eq!(count(&host, "[data-test=sequence] [data-fate=dropped]"), 1);
    assert_eq!(count(&host, "[data-mark=dropped]"), 1);
    assert_eq!(count(&host, "[data-mark=crashed]"), 1);
    assert_eq!(count(&host, ".activation.open"), 1, "A still waits");
    let lost = find(&host, "[data-mark=dropped] text").text_content().unwrap();
    assert_eq!(lost, "lost: link");
}
