//! Generates the Tauri context (config, capabilities, icons) for `tauri::generate_context!`.
fn main() {
    tauri_build::build();
}
