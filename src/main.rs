//! Starts the page: the panic hook, the console logger, and the app mounted on the body.

fn main() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Warn);
    leptos::mount::mount_to_body(callflow::App);
}
