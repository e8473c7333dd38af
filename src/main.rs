//! Starts callflow in a page: the panic hook and the console logger, then the whole app on the
//! main page (its body says `data-callflow-app`). On other pages the loader
//! `callflow-embed.js` calls [`mount`] for each element that asks for a figure.

use wasm_bindgen::prelude::wasm_bindgen;

fn main() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Warn);
    let app_page =
        leptos::prelude::document().body().is_some_and(|b| b.has_attribute("data-callflow-app"));
    if app_page {
        leptos::mount::mount_to_body(callflow::App);
    }
}

/// Makes `host` a live figure; with `from_url`, its options come from the page's address.
/// `home` is the folder callflow is served from, where a figure's shared links point.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, from_url: bool, home: String) {
    callflow::embed::mount(host, from_url, home);
}

/// Takes the figure out of `host`: its view, its run and its frame loop go.
#[wasm_bindgen]
pub fn unmount(host: web_sys::HtmlElement) {
    callflow::embed::unmount(&host);
}
