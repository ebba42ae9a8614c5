//! The zip's offline player (`index.html`). Chromium refuses ES module scripts and `fetch()`
//! from `file://`, so the page carries the recording description inline and the player as one
//! classic script, linked at export time from the same `web/js` modules the replay page loads:
//! no second copy of the player to keep in step.
//!
//! The linker understands exactly the module syntax the web client uses — named imports from
//! relative paths, `import * as`, bare `import './x.js'`, and `export` before a function, class,
//! `const` or `let` declaration at the start of a line — and rejects everything else (default
//! exports, `export *`, export lists, dynamic `import()`, `import.meta`, bare specifiers,
//! cycles) rather than writing a player that breaks in the browser.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

/// The module the offline page runs, relative to `web/js`.
pub const ENTRY: &str = "replay/offline.js";
/// The player's stylesheet, relative to `web/`.
pub const STYLESHEET: &str = "css/replay.css";

/// What `index.html` needs besides the description.
pub struct Player {
    pub script: String,
    pub css: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LinkError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{module}:{line}: {what}")]
    Unsupported {
        module: String,
        line: usize,
        what: String,
    },
    #[error("import cycle through {0}")]
    Cycle(String),
}

/// Reads and links the offline player from `web` (the served `web/` folder).
pub fn player(web: &Path) -> Result<Player, LinkError> {
    let js = web.join("js");
    let script = link(ENTRY, |key| {
        std::fs::read_to_string(js.join(key))
            .map_err(|e| LinkError::Read(format!("js/{key}"), e.to_string()))
    })?;
    let css = std::fs::read_to_string(web.join(STYLESHEET))
        .map_err(|e| LinkError::Read(STYLESHEET.into(), e.to_string()))?;
    Ok(Player { script, css })
}

/// One module, rewritten to run inside a function scope.
struct Module {
    deps: Vec<String>,
    body: String,
}

/// Links `entry` and everything it imports into one classic script. `read` gets a module's
/// source by its path relative to the modules' root (`protocol/codec.js`).
pub fn link(
    entry: &str,
    mut read: impl FnMut(&str) -> Result<String, LinkError>,
) -> Result<String, LinkError> {
    let mut modules: HashMap<String, Module> = HashMap::new();
    let mut order = Vec::new();
    // Depth-first, post-order: a module is written after everything it imports.
    let mut stack: Vec<(String, usize)> = vec![(entry.to_string(), 0)];
    let mut open: Vec<String> = Vec::new();
    while let Some((key, next)) = stack.pop() {
        if next == 0 {
            if order.contains(&key) {
                continue;
            }
            if open.contains(&key) {
                return Err(LinkError::Cycle(key));
            }
            if !modules.contains_key(&key) {
                let source = read(&key)?;
                modules.insert(key.clone(), rewrite(&key, &source)?);
            }
            open.push(key.clone());
        }
        let deps = &modules[&key].deps;
        if let Some(dep) = deps.get(next).cloned() {
            stack.push((key, next + 1));
            if open.contains(&dep) {
                return Err(LinkError::Cycle(dep));
            }
            stack.push((dep, 0));
        } else {
            open.retain(|k| k != &key);
            order.push(key);
        }
    }
    let mut out = String::from("(() => {\n'use strict';\nconst __m = Object.create(null);\n");
    for key in &order {
        out.push_str(&format!(
            "// ---- {key}\n__m[{k}] = (() => {{\n{}}})();\n",
            modules[key].body,
            k = quoted(key)
        ));
    }
    out.push_str("})();\n");
    Ok(out)
}

fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `./x.js` or `../ui/y.js` from module `from` → the imported module's key.
fn resolve(from: &str, spec: &str) -> Option<String> {
    if !(spec.starts_with("./") || spec.starts_with("../")) || !spec.ends_with(".js") {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// The code of a line without its comments (good enough to spot `import(`: strings holding
/// `//` only hide what follows them, which errs towards rejecting nothing valid).
fn code_of(line: &str, in_block: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_block {
            match rest.find("*/") {
                Some(i) => {
                    rest = &rest[i + 2..];
                    *in_block = false;
                }
                None => return out,
            }
        }
        let block = rest.find("/*");
        let comment = rest.find("//");
        match (block, comment) {
            (Some(b), c) if c.is_none_or(|c| b < c) => {
                out.push_str(&rest[..b]);
                rest = &rest[b + 2..];
                *in_block = true;
            }
            (_, Some(c)) => {
                out.push_str(&rest[..c]);
                return out;
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

fn rewrite(key: &str, source: &str) -> Result<Module, LinkError> {
    let lines: Vec<&str> = source.lines().collect();
    let unsupported = |line: usize, what: &str| LinkError::Unsupported {
        module: key.to_string(),
        line: line + 1,
        what: what.to_string(),
    };
    let mut deps = Vec::new();
    let mut exports = Vec::new();
    let mut body = String::new();
    let mut in_block = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let was_in_block = in_block;
        let code = code_of(line, &mut in_block);
        if code.contains("import(") || code.contains("import (") {
            return Err(unsupported(i, "dynamic import()"));
        }
        if code.contains("import.meta") {
            return Err(unsupported(i, "import.meta"));
        }
        let trimmed = code.trim_start();
        let top = !was_in_block && !line.starts_with(char::is_whitespace);
        let word = |w: &str| trimmed.starts_with(w) && trimmed[w.len()..].starts_with([' ', '{']);
        if (word("import") || word("export")) && !top {
            return Err(unsupported(i, "import/export not at the start of a line"));
        }
        if top && word("import") {
            // the statement runs to its semicolon, possibly over several lines
            let mut stmt = code.clone();
            let first = i;
            while !stmt.trim_end().ends_with(';') {
                i += 1;
                let Some(next) = lines.get(i) else {
                    return Err(unsupported(first, "unterminated import"));
                };
                stmt.push(' ');
                stmt.push_str(&code_of(next, &mut in_block));
            }
            let (binding, dep) = import(key, &stmt).map_err(|w| unsupported(first, &w))?;
            if !deps.contains(&dep) {
                deps.push(dep.clone());
            }
            if let Some(binding) = binding {
                body.push_str(&format!("const {binding} = __m[{}];", quoted(&dep)));
            }
            // keep the line count, so errors in the browser point near the source line
            body.push_str(&"\n".repeat(i - first + 1));
            i += 1;
            continue;
        }
        if top && word("export") {
            let decl = trimmed["export".len()..].trim_start();
            let mut words = decl.split(|c: char| c.is_whitespace() || c == '(' || c == '=');
            let mut kind = words.next().unwrap_or("");
            if kind == "async" {
                kind = words.next().unwrap_or("");
            }
            if !matches!(kind, "function" | "class" | "const" | "let") {
                return Err(unsupported(
                    i,
                    &format!("export {}", decl.split(' ').next().unwrap_or("")),
                ));
            }
            let name = words.find(|w| !w.is_empty()).unwrap_or("");
            let name = name.strip_prefix('*').unwrap_or(name); // function* gen
            if !is_ident(name) {
                return Err(unsupported(i, &format!("export of `{name}`")));
            }
            exports.push(name.to_string());
            let at = line.find("export").unwrap_or(0);
            body.push_str(&line[..at]);
            body.push_str(line[at + "export".len()..].trim_start());
            body.push('\n');
            i += 1;
            continue;
        }
        body.push_str(line);
        body.push('\n');
        i += 1;
    }
    body.push_str(&format!("return {{ {} }};\n", exports.join(", ")));
    Ok(Module { deps, body })
}

/// One import statement → the `const` pattern it binds (none for a bare import) and the
/// imported module's key.
fn import(from: &str, stmt: &str) -> Result<(Option<String>, String), String> {
    let stmt = stmt.trim().trim_end_matches(';').trim();
    let rest = stmt.strip_prefix("import").unwrap_or(stmt).trim();
    let (clause, spec) = match rest.rsplit_once(" from ") {
        Some((clause, spec)) => (Some(clause.trim()), spec.trim()),
        None => (None, rest),
    };
    let spec = spec
        .strip_prefix(['\'', '"'])
        .and_then(|s| s.strip_suffix(['\'', '"']))
        .ok_or_else(|| format!("import from {spec}"))?;
    let dep = resolve(from, spec)
        .ok_or_else(|| format!("import of `{spec}` (not a relative .js path)"))?;
    let Some(clause) = clause else {
        return Ok((None, dep));
    };
    if let Some(ns) = clause.strip_prefix("* as ") {
        let ns = ns.trim();
        return if is_ident(ns) {
            Ok((Some(ns.to_string()), dep))
        } else {
            Err(format!("import * as {ns}"))
        };
    }
    let inner = clause
        .strip_prefix('{')
        .and_then(|c| c.strip_suffix('}'))
        .ok_or_else(|| format!("import {clause} (a default import)"))?;
    let mut names = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.as_slice() {
            [name] if is_ident(name) => names.push(name.to_string()),
            [name, "as", local] if is_ident(name) && is_ident(local) => {
                names.push(format!("{name}: {local}"))
            }
            _ => return Err(format!("import {{ {part} }}")),
        }
    }
    Ok((Some(format!("{{ {} }}", names.join(", "))), dep))
}

/// `index.html`: the description and the player inline, so the page works from any folder
/// it is unpacked into, with no server (page images and `audio.ogg` by relative paths).
pub fn index_html(description: &Value, player: &Player) -> String {
    let title = description["title"].as_str().unwrap_or("");
    let title = if title.is_empty() {
        "Lectern recording"
    } else {
        title
    };
    // `</` and `<!--` would end or confuse the script element; `<\/` and `<\u0021` are the
    // same characters to JSON.parse and (in strings, regexes and comments) to JavaScript.
    let json = description
        .to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\u0021--");
    let script = escape_script(&player.script);
    let css = player.css.replace("</", "<\\/");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n{css}</style>\n</head>\n\
         <body class=\"replay-page offline\">\n<div id=\"replay\"></div>\n\
         <script type=\"application/json\" id=\"recording\">{json}</script>\n\
         <script>\n{script}</script>\n</body>\n</html>\n",
        title = html_escape(title),
    )
}

fn escape_script(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut rest = js;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.len() >= 8 && tail[..8].eq_ignore_ascii_case("</script") {
            out.push_str("<\\/");
            rest = &tail[2..];
        } else if let Some(after) = tail.strip_prefix("<!--") {
            out.push_str("<\\!--");
            rest = after;
        } else {
            out.push('<');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
#[path = "offline_tests.rs"]
mod tests;
