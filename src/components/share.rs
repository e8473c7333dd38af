//! A figure's share tools: the link of this moment, the run exported as Mermaid text, as an
//! SVG picture or as a JSON trace, and a trace file imported and replayed.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, Element, HtmlAnchorElement, HtmlInputElement, Url};

use crate::export;
use crate::live::{Home, Live};

/// The styles a standalone SVG file needs: the colours and the diagram's own rules.
pub const SVG_STYLE: &str =
    concat!(include_str!("../../style/tokens.css"), include_str!("../../style/diagram.css"));

/// Offers `text` to the reader as a file download named `name`.
fn download(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let a: HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    Url::revoke_object_url(&url)
}

/// Whether this page may write to the clipboard: a frame may not unless its parent allowed it,
/// and asking anyway is an error in the console.
fn may_write_clipboard() -> bool {
    let in_frame = window().parent().ok().flatten().is_some_and(|p| p != window());
    if !in_frame {
        return true;
    }
    let policy = js_sys::Reflect::get(&document(), &"featurePolicy".into()).unwrap_or_default();
    let allows = js_sys::Reflect::get(&policy, &"allowsFeature".into()).unwrap_or_default();
    allows
        .dyn_ref::<js_sys::Function>()
        .and_then(|f| f.call1(&policy, &"clipboard-write".into()).ok())
        .is_some_and(|v| v.is_truthy())
}

/// The figure's diagram as a standalone SVG document, styled as on screen (light or dark by
/// the viewer's system setting).
fn svg_text(inside: &Element) -> Option<String> {
    let figure = inside.closest("section.figure").ok()??;
    let svg = figure.query_selector("svg.diagram").ok()??;
    let copy: Element = svg.clone_node_with_deep(true).ok()?.unchecked_into();
    copy.set_attribute("xmlns", "http://www.w3.org/2000/svg").ok()?;
    // A file needs its own size: the viewBox's, one user unit to a pixel.
    let view_box = svg.get_attribute("viewBox")?;
    let mut dims = view_box.split_whitespace();
    let (x, y, width, height) = (dims.next()?, dims.next()?, dims.next()?, dims.next()?);
    copy.set_attribute("width", width).ok()?;
    copy.set_attribute("height", height).ok()?;
    let backdrop = document().create_element_ns(Some("http://www.w3.org/2000/svg"), "rect").ok()?;
    for (name, value) in
        [("class", "backdrop"), ("x", x), ("y", y), ("width", width), ("height", height)]
    {
        backdrop.set_attribute(name, value).ok()?;
    }
    copy.prepend_with_node_1(&backdrop).ok()?;
    let style = document().create_element("style").ok()?;
    style.set_text_content(Some(SVG_STYLE));
    copy.prepend_with_node_1(&style).ok()?;
    Some(copy.outer_html())
}

/// The link of this moment and the export and import tools of one figure.
#[component]
pub fn Share(
    /// The figure whose run is shared.
    live: Live,
) -> impl IntoView {
    let slug = live.kind.slug();
    let said = RwSignal::new(None::<(String, bool)>);
    let link = RwSignal::new(None::<String>);
    let file_id = format!("{slug}-import");

    let tell = move |text: String, error: bool| said.set(Some((text, error)));
    let fail = move |what: &str| {
        tell(format!("Could not export the {what}: the browser refused the download."), true)
    };

    let home = use_context::<Home>();
    let copy_link = move |_| {
        // A mounted figure links to embed.html, which sits beside the loader wherever the
        // folder was copied: the figure alone, as it is now.
        let page = match &home {
            Some(Home(folder)) => format!("{folder}embed.html"),
            None => {
                let location = window().location();
                location.origin().unwrap_or_default() + &location.pathname().unwrap_or_default()
            }
        };
        let url = format!("{page}?{}#{slug}", live.link());
        link.set(Some(url.clone()));
        if let Some(why) = live.with_playback(crate::options::not_whole) {
            tell(format!("{why}: the link below opens its settings at 0 ms."), false);
            return;
        }
        if !may_write_clipboard() {
            tell("The link of this moment is below: select it and copy it. Opening it reproduces the run.".into(), false);
            return;
        }
        let written = window().navigator().clipboard().write_text(&url);
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(written).await {
                Ok(_) => tell("Copied the link of this moment (it is also below); opening it reproduces the run.".into(), false),
                Err(_) => tell("The link of this moment is below: select it and copy it. Opening it reproduces the run.".into(), false),
            }
        });
    };
    let mermaid = move |_| {
        let text = live.with_playback(export::mermaid);
        match download(&format!("callflow-{slug}.mmd"), "text/plain", &text) {
            Ok(()) => tell("Exported the run as a Mermaid sequence diagram.".into(), false),
            Err(_) => fail("Mermaid text"),
        }
    };
    let trace = move |_| {
        if let Some(why) = live.with_playback(crate::options::not_whole) {
            tell(format!("{why}: a trace file of it could not be read back, so it is not exported. Reset, and export a shorter run."), true);
            return;
        }
        let text = live.with_playback(export::trace_json);
        match download(&format!("callflow-{slug}.trace.json"), "application/json", &text) {
            Ok(()) => tell("Exported the run's trace as JSON.".into(), false),
            Err(_) => fail("trace"),
        }
    };
    let svg = move |ev: leptos::ev::MouseEvent| {
        let text = event_target::<Element>(&ev);
        match svg_text(&text)
            .map(|t| download(&format!("callflow-{slug}.svg"), "image/svg+xml", &t))
        {
            Some(Ok(())) => tell("Exported the diagram as it is now, as SVG.".into(), false),
            _ => fail("diagram"),
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let input = event_target::<HtmlInputElement>(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        if file.size() > export::MAX_TRACE_BYTES as f64 {
            tell(
                format!(
                    "“{}” is too big for a trace file; nothing changed.",
                    crate::options::quote(&file.name())
                ),
                true,
            );
            return;
        }
        let name = crate::options::quote(&file.name());
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            let Some(text) = text.ok().and_then(|t| t.as_string()) else {
                tell(format!("Could not read “{name}”; nothing changed."), true);
                return;
            };
            match export::read_trace(&text) {
                Ok(o) if o.kind != live.kind => tell(
                    format!(
                        "“{name}” is a run of Figure {}, {}; import it there. Nothing changed.",
                        o.kind.number(),
                        o.kind.slug()
                    ),
                    true,
                ),
                Ok(o) => {
                    live.replay(&o);
                    tell(format!("Imported “{name}”: the simulator gives exactly its events. Replaying it from 0 ms."), false);
                }
                Err(why) => {
                    tell(format!("Could not import “{name}”: {why} Nothing changed."), true)
                }
            }
        });
    };

    view! {
        <div class="share" role="group" aria-label="Share and export">
            <button type="button" data-test="copy-link" on:click=copy_link>"Copy link"</button>
            <button type="button" data-test="export-mermaid" on:click=mermaid title="The run as a Mermaid sequence diagram">"Mermaid"</button>
            <button type="button" data-test="export-svg" on:click=svg title="The diagram as an SVG picture">"SVG"</button>
            <button type="button" data-test="export-trace" on:click=trace title="The run's trace as JSON">"Trace JSON"</button>
            // The field before its label, so that the label shows the field's focus ring.
            <input id=file_id.clone() type="file" class="visually-hidden" accept=".json,application/json" data-test="import" on:change=import />
            <label class="import" for=file_id>"Import trace…"</label>
            {move || link.get().map(|url| view! {
                <input class="link" type="text" readonly aria-label="Link to this moment" data-test="link" prop:value=url />
            })}
            <p class="notice" class:error=move || said.with(|s| s.as_ref().is_some_and(|s| s.1)) aria-live="polite" data-test="share-notice">
                {move || said.with(|s| s.as_ref().map(|s| s.0.clone()))}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    /// A stylesheet whose braces do not pair nests every later rule inside the one left open,
    /// and the browser drops them all without a word: a merge did this once.
    #[test]
    fn every_stylesheet_closes_what_it_opens() {
        let sheets = [
            ("tokens.css", include_str!("../../style/tokens.css")),
            ("diagram.css", include_str!("../../style/diagram.css")),
            ("figure.css", include_str!("../../style/figure.css")),
            ("page.css", include_str!("../../style/page.css")),
        ];
        for (name, css) in sheets {
            // The line that opened each block still open, and whether it is an at-rule.
            let mut open: Vec<(usize, bool)> = Vec::new();
            for (n, line) in css.lines().enumerate() {
                for c in line.chars() {
                    match c {
                        '{' => {
                            // Only an at-rule (@media, @container) holds rules inside it.
                            if let Some(&(at, false)) = open.last() {
                                panic!("{name}:{}: a rule inside the rule of line {at}", n + 1);
                            }
                            open.push((n + 1, line.trim_start().starts_with('@')));
                        }
                        '}' => {
                            assert!(open.pop().is_some(), "{name}:{}: closes nothing", n + 1);
                        }
                        _ => {}
                    }
                }
            }
            assert_eq!(open, [], "{name}: blocks opened and never closed");
        }
    }
}
