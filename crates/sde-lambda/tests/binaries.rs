//! Every Lambda function is one the binary runs by its handler name, with a module of that name,
//! and every function the state machine invokes is one of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

/// The functions of the design page, plus the WebSocket `$connect` authorizer, the two reports,
/// the one that gives back an ended export's slot, posts, subscriptions, the caller's exports, and
/// the worker of the real-time notifications queue, and the planning and composing steps of an
/// export that fans out, and the planner and the worker of the daily digests.
const FUNCTIONS: [&str; 21] = [
    "download",
    "download-request",
    "generate-csv",
    "email-link",
    "push-open-connection",
    "push-result",
    "search",
    "report-status",
    "report-graphical",
    "report-hybrid",
    "posts",
    "subscriptions",
    "ws-authorizer",
    "release-export-slot",
    "exports",
    "notify-real-time",
    "plan-export",
    "compose-export",
    "plan-digests",
    "send-digests",
    "send-mail",
];

/// The modules of `src/functions/`, as function names (`push_result.rs` → `push-result`).
fn modules() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/functions");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            path.file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-")
        })
        .filter(|name| name != "mod")
        .collect()
}

fn binaries() -> BTreeSet<String> {
    sde_lambda::functions::NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect()
}

/// `generateCsv` → `generate-csv`.
fn kebab_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every `{"Fn::GetAtt": [<function>, "Arn"]}` of the definition.
fn asl_functions(value: &serde_json::Value, found: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            if let Some(name) = fields
                .get("Fn::GetAtt")
                .and_then(|target| target.get(0))
                .and_then(|name| name.as_str())
            {
                found.insert(name.to_owned());
            }
            fields.values().for_each(|v| asl_functions(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| asl_functions(v, found)),
        _ => {}
    }
}

#[test]
fn each_function_is_run_by_its_handler_name_and_has_a_module_of_that_name() {
    let expected: BTreeSet<String> = FUNCTIONS.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(binaries(), expected);
    assert_eq!(modules(), expected);
}

#[tokio::test]
async fn an_unknown_handler_fails_the_cold_start_naming_the_functions() {
    let error = sde_lambda::functions::run("fax").await.unwrap_err();
    assert!(
        error.to_string().starts_with("unknown function \"fax\""),
        "{error}"
    );
}

#[test]
fn every_function_the_state_machine_invokes_maps_to_a_binary() {
    let path = common::repo_root().join("statemachine/download-request.asl.json");
    let definition: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut referenced = BTreeSet::new();
    asl_functions(&definition, &mut referenced);
    assert_eq!(
        referenced,
        BTreeSet::from([
            "composeExport".into(),
            "emailLink".into(),
            "generateCsv".into(),
            "planExport".into(),
            "pushResult".into()
        ])
    );
    let binaries = binaries();
    for function in referenced {
        let binary = kebab_case(&function);
        assert!(
            binaries.contains(&binary),
            "{function} has no binary {binary}"
        );
    }
}

#[test]
fn camel_case_names_become_kebab_case_binaries() {
    assert_eq!(kebab_case("generateCsv"), "generate-csv");
    assert_eq!(kebab_case("pushOpenConnection"), "push-open-connection");
    assert_eq!(kebab_case("search"), "search");
}
