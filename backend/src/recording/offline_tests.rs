use super::*;

fn files<'a>(list: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Result<String, LinkError> + 'a {
    move |key| {
        list.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, src)| src.to_string())
            .ok_or_else(|| LinkError::Read(key.into(), "missing".into()))
    }
}

fn node(script: &str) -> Option<String> {
    let out = std::process::Command::new("node")
        .args(["-e", script])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

const GRAPH: &[(&str, &str)] = &[
    (
        "app/main.js",
        "// entry\nimport { double, Counter as C } from '../lib/math.js';\nimport {\n    NAME,\n} from './names.js';\nimport * as m from '../lib/math.js';\nconst c = new C();\nc.add(double(2));\nconsole.log(`${NAME} ${c.n} ${m.double(5)} ${m.TEN}`);\n",
    ),
    (
        "lib/math.js",
        "import { NAME } from '../app/names.js';\nexport const TEN = 10;\nexport function double(x) {\n    return 2 * x;\n}\nexport class Counter {\n    constructor() { this.n = NAME.length; }\n    add(k) { this.n += k; }\n}\n",
    ),
    ("app/names.js", "/** the name */\nexport const NAME = 'abc';\n"),
];

#[test]
fn links_modules_in_dependency_order_and_runs_like_the_modules() {
    let script = link("app/main.js", files(GRAPH)).unwrap();
    let at = |k: &str| script.find(&format!("__m[\"{k}\"] =")).unwrap();
    assert!(at("app/names.js") < at("lib/math.js"));
    assert!(at("lib/math.js") < at("app/main.js"));
    assert_eq!(script.matches("__m[\"app/names.js\"] =").count(), 1);
    assert!(script.contains("const { double, Counter: C } = __m[\"lib/math.js\"];"));
    assert!(script.contains("return { TEN, double, Counter };"));
    if let Some(out) = node(&script) {
        assert_eq!(out.trim(), "abc 7 10 10");
    }
}

#[test]
fn rejects_what_it_does_not_understand() {
    let cases: &[(&str, &str)] = &[
        ("export default function f() {}\n", "export default"),
        ("export * from './x.js';\n", "export *"),
        ("const a = 1;\nexport { a };\n", "export {"),
        ("const m = await import('./x.js');\n", "dynamic import()"),
        ("const u = new URL('x', import.meta.url);\n", "import.meta"),
        ("import x from './x.js';\n", "default import"),
        (
            "import { Strophe } from 'strophe.js';\n",
            "not a relative .js path",
        ),
        (
            "if (a) {\n    export const b = 1;\n}\n",
            "not at the start of a line",
        ),
        ("export const { a, b } = o;\n", "export of `{`"),
    ];
    for (src, what) in cases {
        let err = link("a.js", files(&[("a.js", src), ("x.js", "")])).unwrap_err();
        assert!(err.to_string().contains(what), "{src:?}: {err}");
    }
    // type-only imports in JSDoc comments are not code
    let typed = "/** @type {import('./x.js').T} */\nlet t = null;\n// import('./y.js')\n";
    assert!(link("a.js", files(&[("a.js", typed)])).is_ok());
}

#[test]
fn rejects_cycles_and_missing_modules() {
    let cycle = [
        ("a.js", "import { b } from './b.js';\nexport const a = 1;\n"),
        ("b.js", "import { c } from './c.js';\nexport const b = 1;\n"),
        ("c.js", "import { a } from './a.js';\nexport const c = 1;\n"),
    ];
    assert!(matches!(
        link("a.js", files(&cycle)),
        Err(LinkError::Cycle(_))
    ));
    assert!(matches!(
        link("a.js", files(&[("a.js", "import './gone.js';\n")])),
        Err(LinkError::Read(..))
    ));
}

#[test]
fn the_page_escapes_what_would_end_its_scripts() {
    let description =
        serde_json::json!({"title": "A <b> & </script> talk", "chat": ["</script><!--"]});
    let player = Player {
        script: "const s = '</script>'; const r = /<!--/;\n".into(),
        css: "body { margin: 0 }\n".into(),
    };
    let html = index_html(&description, &player);
    assert_eq!(html.matches("</script>").count(), 2, "{html}");
    assert!(html.contains("<title>A &lt;b&gt; &amp; &lt;/script&gt; talk</title>"));
    assert!(html.contains(r#""<\/script><\u0021--""#));
    assert!(html.contains(r"const s = '<\/script>'; const r = /<\!--/;"));
}

#[test]
fn the_web_clients_replay_modules_link() {
    let web = crate::http::pages::web_dir();
    let player = player(&web).unwrap();
    assert!(player.script.contains("__m[\"replay/offline.js\"]"));
    assert!(player.script.contains("__m[\"protocol/state.js\"]"));
    // it parses as a classic script
    if let Some(out) = node(&format!(
        "new Function({});console.log('ok')",
        serde_json::Value::String(player.script.clone())
    )) {
        assert_eq!(out.trim(), "ok");
    }
}
