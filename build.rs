fn main() {
    // Debug builds (the tests) carry the element ids and accessibility data the testing
    // backend looks elements up by; release builds (the device) leave them out.
    let debug = std::env::var("PROFILE").as_deref() == Ok("debug")
        || std::env::var_os("SLINT_EMIT_DEBUG_INFO").is_some();
    println!("cargo:rerun-if-env-changed=SLINT_EMIT_DEBUG_INFO");
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(debug)
        .with_bundled_translations("ui/translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    slint_build::compile_with_config("ui/main.slint", config).expect("the .slint sources compile");
}
