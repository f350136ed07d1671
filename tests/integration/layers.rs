//! The module layers of ARCHITECTURE.md are the code's: each module of `src/` uses exactly
//! the modules its row names (every `crate::` path outside comments counts), and the import
//! graph has no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// ARCHITECTURE.md's table: module -> the modules its "may use" column names.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let module = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_string();
        let uses = cells.last().unwrap().trim_end_matches(" |");
        let named: BTreeSet<String> = uses
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        rows.insert(module, named);
    }
    rows
}

/// The top-level modules of `src/` and the `crate::` modules each one's code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        if name == "main" || name == "lib" {
            continue;
        }
        let mut files = Vec::new();
        collect(&p, &mut files);
        let mut uses = BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text
                .lines()
                .map(str::trim_start)
                .filter(|l| !l.starts_with("//"))
            {
                assert!(
                    !line.contains("crate::{"),
                    "{}: a grouped `crate::{{…}}` import hides what it uses: one `use` a module",
                    f.display()
                );
                for (i, _) in line.match_indices("crate::") {
                    let before = line[..i].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue; // `fwgen_crate::` and the like
                    }
                    let rest = &line[i + "crate::".len()..];
                    let m: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() && m != name {
                        uses.insert(m);
                    }
                }
            }
        }
        out.insert(name, uses);
    }
    out
}

fn collect(p: &Path, files: &mut Vec<std::path::PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            collect(&e.unwrap().path(), files);
        }
    } else if p.extension().is_some_and(|x| x == "rs") {
        files.push(p.to_path_buf());
    }
}

#[test]
fn the_architecture_table_is_the_import_graph() {
    let table = table();
    let graph = graph();
    let modules: BTreeSet<&String> = graph.keys().collect();
    let rows: BTreeSet<&String> = table.keys().collect();
    assert_eq!(
        modules, rows,
        "every module of src/ has a row, and every row a module"
    );
    for (m, uses) in &graph {
        assert_eq!(
            uses, &table[m],
            "`{m}`: the code uses {uses:?}, ARCHITECTURE.md says {:?}",
            table[m]
        );
    }
    // No cycle: the rows are in an order in which each module uses only modules above it.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let order: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('`').nth(1).unwrap().to_string())
        .collect();
    for (i, m) in order.iter().enumerate() {
        for u in &graph[m] {
            let at = order.iter().position(|o| o == u).unwrap();
            assert!(
                at < i,
                "`{m}` uses `{u}`, which stands below it: a cycle, or a row out of order"
            );
        }
    }
}

/// The checker itself: a grouped import, a module missing from the table and a use the row
/// does not name are all seen.
#[test]
fn the_layer_check_sees_what_it_must() {
    let graph = graph();
    assert!(graph["site"].contains("catalogue"), "{:?}", graph["site"]);
    assert!(
        !graph["names"].contains("render"),
        "names uses render again"
    );
    assert!(!graph["site"].contains("select"), "site uses select again");
    assert!(graph.contains_key("text") && graph["text"].is_empty());
}

/// Files with one job: none of `src/` is over 800 lines (issue 27).
#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    collect(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split by job: {long:?}");
}
