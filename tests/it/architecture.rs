//! The house stays as drawn (ARCHITECTURE.md): read from the sources, no module imports a
//! layer above its own, sibling modules form no cycle, SQL is only where ARCHITECTURE.md
//! says, and no function of the web layer is longer than 60 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and what it may use, bottom to top (ARCHITECTURE.md's table).
fn layers() -> Vec<(&'static str, Vec<&'static str>)> {
    let order: &[&[&str]] = &[
        &["i18n", "domain", "spatial", "params"],
        &["db", "cluster"],
        &[
            "accounts",
            "progress",
            "search",
            "budget",
            "exchange",
            "ops",
            "geodata",
            "demo",
            "land",
            "investment",
            "report",
        ],
        &["views"],
        &["error", "web"],
        &["cli", "fuzzing"],
    ];
    let mut out = Vec::new();
    let mut below: Vec<&str> = Vec::new();
    for (n, layer) in order.iter().enumerate() {
        let mut before_in_layer: Vec<&str> = Vec::new();
        for &module in *layer {
            let mut allowed = below.clone();
            // Within the vocabulary and the features, a module uses those before it; the
            // data modules and the HTTP edge's two use each other one way only as well.
            allowed.extend(before_in_layer.iter().copied());
            if n == order.len() - 1 {
                allowed = order.iter().flat_map(|l| l.iter().copied()).collect();
            }
            out.push((module, allowed));
            before_in_layer.push(module);
        }
        below.extend(layer.iter().copied());
    }
    out
}

/// Where SQL may be written (ARCHITECTURE.md, "Where SQL lives").
const SQL_PLACES: &[&str] = &[
    "src/db/",
    "src/accounts/users.rs",
    "src/accounts/sessions.rs",
    "src/accounts/tokens.rs",
    "src/progress/store.rs",
    "src/progress/conflicts.rs",
    "src/progress/review.rs",
    "src/search/store.rs",
    "src/search/review.rs",
    "src/budget/store.rs",
    "src/budget/ceiling.rs",
    "src/report/log.rs",
    "src/land/store.rs",
    "src/investment/store.rs",
    "src/exchange/export.rs",
    "src/exchange/query.rs",
    "src/exchange/profile.rs",
    "src/exchange/import/stage.rs",
    "src/exchange/import/log.rs",
    "src/exchange/import/jobs.rs",
    "src/exchange/import/uploads.rs",
    "src/exchange/item.rs",
    "src/ops/audit.rs",
    "src/ops/backup.rs",
    "src/geodata.rs",
    "src/demo/",
];

/// Functions of the web layer that are data, not handlers: JSON documents written out.
const DOCUMENTS: &[&str] = &[
    "src/web/features/openapi.rs::document",
    "src/web/features/openapi_app.rs::paths",
    "src/web/style.rs::document",
];

const MAX_WEB_FN_LINES: usize = 60;

struct Source {
    path: String,
    module: Vec<String>,
    /// The code with comment lines left out.
    code: String,
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let path = file
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let rel = path.trim_start_matches("src/").trim_end_matches(".rs");
            let mut module: Vec<String> = rel.split('/').map(str::to_string).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            let code = std::fs::read_to_string(&file)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Source { path, module, code }
        })
        .collect()
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every path the code names from `crate`, `super` or `self`, as written (`super::rows::X`),
/// with `use a::{b, c}` groups spread out (`a::b`, `a::c`).
fn paths_named(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (start, _) in code.match_indices(['c', 's']) {
        let rest = &code[start..];
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        let before = code[..start].chars().next_back();
        if head.is_none() || before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let mut path = Vec::new();
        let mut at = rest;
        loop {
            let name = identifier_at(at);
            if name.is_empty() {
                break;
            }
            path.push(name.to_string());
            at = &at[name.len()..];
            if let Some(next) = at.strip_prefix("::") {
                if let Some(group) = next.strip_prefix('{') {
                    let inner = &group[..group.find('}').unwrap_or(0)];
                    for item in inner.split(',') {
                        let item = identifier_at(item.trim());
                        if !item.is_empty() && item != "self" {
                            let mut p = path.clone();
                            p.push(item.to_string());
                            out.push(p);
                        }
                    }
                    break;
                }
                at = next;
            } else {
                break;
            }
        }
        out.push(path);
    }
    out
}

/// The module a path names, resolved from `from`: the longest known module it starts with.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        _ => {
            base = from.to_vec();
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
    }
    let full: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
    (1..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|m| modules.contains(m))
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let layers: BTreeMap<&str, Vec<&str>> = layers().into_iter().collect();
    let mut wrong = Vec::new();
    for source in sources() {
        let Some(top) = source.module.first() else {
            continue;
        };
        let Some(allowed) = layers.get(top.as_str()) else {
            wrong.push(format!(
                "{}: module '{top}' is in no layer of ARCHITECTURE.md",
                source.path
            ));
            continue;
        };
        for path in paths_named(&source.code) {
            if path[0] != "crate" || path.len() < 2 || &path[1] == top {
                continue;
            }
            if !allowed.contains(&path[1].as_str()) {
                wrong.push(format!(
                    "{} uses crate::{}",
                    source.path,
                    path[1..].join("::")
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn sibling_modules_form_no_cycle() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    // An edge between the two siblings under the deepest parent both paths share.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for source in &sources {
        for path in paths_named(&source.code) {
            let Some(target) = resolve(&source.module, &path, &modules) else {
                continue;
            };
            let (a, b) = (&source.module, &target);
            let shared = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if shared == a.len() || shared == b.len() {
                // The same module, or one inside the other.
                continue;
            }
            edges
                .entry(a[..=shared].to_vec())
                .or_default()
                .insert(b[..=shared].to_vec());
        }
    }
    // Depth-first search for a way back.
    fn back(
        from: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        trail: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(at) = trail.iter().position(|m| m == from) {
            return Some(trail[at..].to_vec());
        }
        if !done.insert(from.clone()) {
            return None;
        }
        trail.push(from.clone());
        for next in edges.get(from).into_iter().flatten() {
            if let Some(cycle) = back(next, edges, trail, done) {
                return Some(cycle);
            }
        }
        trail.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(cycle) = back(module, &edges, &mut Vec::new(), &mut done) {
            let shown: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            panic!("a cycle: {} → back", shown.join(" → "));
        }
    }
}

#[test]
fn sql_is_only_where_architecture_md_says() {
    const STARTS: &[&str] = &[
        "SELECT ",
        "SELECT\n",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        "WITH ",
        "CREATE ",
        "ALTER ",
        "DROP ",
        "LISTEN ",
        "COPY ",
        "SET LOCAL",
        "TRUNCATE ",
    ];
    let mut wrong = Vec::new();
    for source in sources() {
        if SQL_PLACES.iter().any(|p| source.path.starts_with(p)) {
            continue;
        }
        for (at, _) in source.code.match_indices('"') {
            let text = source.code[at + 1..].trim_start();
            if let Some(keyword) = STARTS.iter().find(|k| text.starts_with(*k)) {
                let line = source.code[..at].lines().count();
                wrong.push(format!("{}:{line}: \"{}…", source.path, keyword.trim()));
            }
        }
        if source.code.contains("include_str!(") && source.code.contains("sql/") {
            wrong.push(format!("{}: loads a file of sql/", source.path));
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL outside its places:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_function_of_the_web_layer_is_longer_than_60_lines() {
    let mut long = Vec::new();
    for source in sources() {
        if !source.path.starts_with("src/web/") {
            continue;
        }
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&source.path))
                .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let signature = trimmed
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ")
                .trim_start_matches("async ");
            let Some(after) = signature.strip_prefix("fn ") else {
                continue;
            };
            let name = identifier_at(after);
            let close = format!("{}}}", " ".repeat(indent));
            let Some(end) = lines[i..].iter().position(|l| *l == close) else {
                continue;
            };
            let length = end + 1;
            let id = format!("{}::{name}", source.path);
            if length > MAX_WEB_FN_LINES && !DOCUMENTS.contains(&id.as_str()) {
                long.push(format!("{id}: {length} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "web functions over {MAX_WEB_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}
