//! The pipeline is drawn once: docs/design.md §1.1 shows the drawing the crate's own
//! documentation includes (`src/pipeline.md`), and both name only folders and files that
//! exist.

use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn design_md_shows_the_drawing_the_crate_docs_include() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let drawing = read(&crate_dir.join("src/pipeline.md"));
    let design = read(&crate_dir.join("../../docs/design.md"));
    assert!(
        design.contains(drawing.trim_end()),
        "docs/design.md §1.1 does not show src/pipeline.md as it is; copy it there"
    );
}

#[test]
fn the_drawing_names_only_paths_that_exist() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let drawing = read(&src.join("pipeline.md"));
    let mut named = 0;
    for word in drawing.split(|c: char| c.is_whitespace() || "(),·▶".contains(c)) {
        let is_path = word.ends_with(".rs") || word.ends_with('/');
        if !is_path || word.contains("crates/") || word.is_empty() {
            continue;
        }
        // Names under `profile/`, `backend/`, `proof/` sit in the folder the line names.
        let found = walk(&src).iter().any(|p| {
            p.strip_prefix(&src)
                .map(|rel| {
                    let rel = rel.to_string_lossy();
                    rel == word.trim_end_matches('/')
                        || rel.ends_with(&format!("/{}", word.trim_end_matches('/')))
                })
                .unwrap_or(false)
        });
        assert!(
            found,
            "src/pipeline.md names {word:?}, which is not under src/"
        );
        named += 1;
    }
    assert!(named > 10, "the drawing names {named} paths");
}

/// Every file and folder under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
