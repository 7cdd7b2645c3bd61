//! The workspace's UniFFI bindings generator, pinned with the scaffolding's UniFFI version.
//! Used in library mode: `generate --library <built outreach_ffi library> --language kotlin|swift`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
