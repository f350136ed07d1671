//! The built-in catalogue, read faster: each `data/*.yaml` file is converted to JSON here, at
//! build time, and the binary reads that JSON (serde_json into the same schema types) instead
//! of parsing YAML on every run. The YAML stays in the binary too: its bytes are what the
//! digests cover and what messages quote, and any file whose JSON does not read falls back
//! to it. A test checks that both readings give the same catalogue. No checking happens
//! here: the catalogue's checks run on the JSON exactly as on the YAML. Each file's SHA-256
//! is computed here too (the digests in every output), not on every run.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=data");
    symbol_order();
    let mut names: Vec<String> = std::fs::read_dir("data")
        .expect("the data/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// What build.rs recorded of every file in `data/`, sorted by name.\n\
         pub(super) const JSON: &[Built] = &[\n",
    );
    for name in names {
        let text = std::fs::read_to_string(Path::new("data").join(&name)).expect("a data file");
        // A file that is not valid YAML gets no JSON: the binary then reads (and reports on)
        // the YAML itself.
        let Ok(value) = serde_yaml::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let json = serde_json::to_string(&value).expect("JSON of a YAML value");
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // Which product version the file describes, so that a run for one reads only its file
        // (strings only: anything else is never matched, and the whole catalogue is read).
        let key = |k: &str| {
            value
                .get(k)
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_string()
        };
        let (product, version) = (key("product"), key("version"));
        let _ = writeln!(
            out,
            "    Built {{ name: {name:?}, json: {json:?}, digest: {digest:?}, product: {product:?}, version: {version:?} }},"
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalogue_json.rs");
    std::fs::write(dest, out).expect("write the generated catalogue");
}

/// Release builds for x86_64 Linux lay out first, together, the functions that common commands
/// run (`link/symbol-order.txt`, written by `bench/order.sh`): a run then maps only the part
/// of the binary it uses. Only where rustc links with its own LLD (the default for this
/// target): another linker may not know the flag, so a configured linker turns this off.
/// Layout only: a stale or missing list changes where code lies, never what it does.
fn symbol_order() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo::rerun-if-changed=link/symbol-order.txt");
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let own_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || flags.contains("linker")
        || flags.contains("link-self-contained");
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    let Some(path) = list.to_str().filter(|p| !p.contains(',')) else {
        return;
    };
    if var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && !own_linker
        && list.is_file()
    {
        println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={path}");
        // Functions the list names that this build no longer has are skipped, quietly.
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
