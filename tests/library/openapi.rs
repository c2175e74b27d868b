//! docs/openapi.yaml is what other receivers are written against and what HTTP clients are
//! generated from, so it must say what the collector does in a form a generator gets right:
//! compression is the HTTP message's own business (a generated client that sent a
//! `Content-Encoding: gzip` parameter would send plain JSON under a gzip header and be
//! refused), every reference resolves, the reason codes are the protocol's, and the id
//! patterns accept exactly what the protocol's types accept.
//!
//! The YAML is read with PyYAML, refusing duplicate keys, which YAML parsers otherwise
//! resolve silently by keeping the last, and the document is validated against the OpenAPI
//! 3.1 schema with openapi-spec-validator. scripts/test installs both into the project's own
//! virtual environment, `target/python-tools`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const OPENAPI: &str = "docs/openapi.yaml";
const PROTOCOL_SOURCE: &str = "protocol/src/lib.rs";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// YAML to JSON, with duplicate keys refused.
const YAML_TO_JSON: &str = r#"
import json, sys, yaml

class Strict(yaml.SafeLoader):
    pass

def mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)

Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
with open(sys.argv[1], encoding="utf-8") as f:
    document = yaml.load(f, Loader=Strict)
json.dump(document, sys.stdout, default=str)
"#;

const VALIDATE: &str = r#"
import sys, yaml
from openapi_spec_validator import validate
with open(sys.argv[1], encoding="utf-8") as f:
    validate(yaml.safe_load(f))
"#;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The Pythons to try: the one on PATH, then Debian's, which python3-yaml installs into.
const PYTHONS: [&str; 3] = [
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/python-tools/bin/python3"
    ),
    "python3",
    "/usr/bin/python3",
];

fn python_with(module: &str) -> Option<&'static str> {
    PYTHONS.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Reads a YAML file as JSON. No PyYAML fails the test, saying how to get it: a check that
/// passes because it could not run would let a broken description through.
fn yaml_file(path: &Path) -> Result<Value, String> {
    let python = python_with("yaml").unwrap_or_else(|| {
        panic!(
            "no Python with PyYAML ({}). Run scripts/test, which installs it into \
             target/python-tools, or `pip install pyyaml`, and run the test again.",
            PYTHONS.join(", ")
        )
    });
    let output = Command::new(python)
        .args(["-c", YAML_TO_JSON])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).expect("PyYAML's JSON does not parse"))
}

fn document() -> Value {
    yaml_file(&repo_file(OPENAPI)).unwrap_or_else(|e| panic!("{OPENAPI} is not valid YAML: {e}"))
}

/// Follows a local `$ref` ("#/components/..."); anything else is returned as it is.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..16 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{reference}: only local references"));
                value = doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{reference} does not resolve"));
            }
            None => return value,
        }
    }
    panic!("a $ref chain that does not end");
}

/// Every operation as (method, path, operation object).
fn operations(doc: &Value) -> Vec<(&'static str, String, &Value)> {
    let paths = doc["paths"].as_object().expect("no paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method, path.clone(), operation));
            }
        }
    }
    found
}

/// The parameters that apply to an operation: its own and its path's, resolved.
fn parameters<'a>(doc: &'a Value, path: &str, operation: &'a Value) -> Vec<&'a Value> {
    let item = &doc["paths"][path];
    [item.get("parameters"), operation.get("parameters")]
        .into_iter()
        .flatten()
        .flat_map(|list| list.as_array().expect("parameters is not a list"))
        .map(|p| resolve(doc, p))
        .collect()
}

fn is_content_encoding_header(parameter: &Value) -> bool {
    parameter["in"].as_str() == Some("header")
        && parameter["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("content-encoding"))
}

/// `Content-Encoding` describes how the body is encoded, not an input of the operation: as
/// a header parameter, a generated client sends whatever value it is given next to an
/// uncompressed body, and the collector refuses it (`bad_gzip`).
#[test]
fn no_operation_takes_content_encoding_as_a_parameter() {
    let doc = document();
    let operations = operations(&doc);
    assert!(
        operations.len() >= 4,
        "{OPENAPI} describes {} operations; expected enrol, batches, status and health",
        operations.len()
    );
    for (method, path, operation) in &operations {
        for parameter in parameters(&doc, path, operation) {
            assert!(
                !is_content_encoding_header(parameter),
                "{} {path} has a Content-Encoding header parameter; describe compression in \
                 the request body's description instead: {parameter}",
                method.to_uppercase()
            );
        }
    }
    // Nor is one left among the shared parameters for an operation to pick up again.
    if let Some(shared) = doc
        .pointer("/components/parameters")
        .and_then(Value::as_object)
    {
        for (name, parameter) in shared {
            assert!(
                !is_content_encoding_header(parameter),
                "components/parameters/{name} is a Content-Encoding header parameter"
            );
        }
    }

    // The check does find one: the same document with the parameter put back.
    let mut with_header = doc.clone();
    let first_post = operations
        .iter()
        .find(|(method, _, _)| *method == "post")
        .map(|(_, path, _)| path.clone())
        .expect("no POST operation");
    with_header["paths"][&first_post]["post"]["parameters"] = serde_json::json!([
        {"name": "content-encoding", "in": "header", "schema": {"type": "string"}}
    ]);
    let operation = &with_header["paths"][&first_post]["post"];
    assert!(parameters(&with_header, &first_post, operation)
        .into_iter()
        .any(is_content_encoding_header));
}

/// Compression is described where a reader (and a generator's documentation) finds it: in
/// the description of every request body, and in the document's own description.
#[test]
fn every_request_body_says_it_may_be_sent_gzip_compressed() {
    let doc = document();
    let mut posts = 0;
    for (method, path, operation) in operations(&doc) {
        if method != "post" {
            continue;
        }
        posts += 1;
        let body = operation
            .get("requestBody")
            .map(|b| resolve(&doc, b))
            .unwrap_or_else(|| panic!("POST {path} has no requestBody"));
        let description = body["description"].as_str().unwrap_or_default();
        let lower = description.to_lowercase();
        assert!(
            lower.contains("gzip") && lower.contains("content-encoding"),
            "the requestBody of POST {path} must say that the body may be sent gzip-compressed \
             with `Content-Encoding: gzip`: {description:?}"
        );
        assert!(
            lower.contains("uncompressed"),
            "the requestBody of POST {path} must say an uncompressed body is accepted too: \
             {description:?}"
        );
    }
    assert_eq!(
        posts, 3,
        "enrol, batches and status are the POST operations"
    );
    let info = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(
        info.contains("Content-Encoding: gzip"),
        "info.description must describe compression"
    );
}

fn walk<'a>(value: &'a Value, at: String, visit: &mut impl FnMut(&str, &'a Value)) {
    visit(&at, value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(child, format!("{at}/{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, format!("{at}/{index}"), visit);
            }
        }
        _ => {}
    }
}

/// A reference that does not resolve makes a generator fail or, worse, guess; and the
/// document must be valid OpenAPI 3.1.
#[test]
fn every_reference_resolves_and_the_document_is_valid_openapi() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut references = 0;
    walk(&doc, String::new(), &mut |at, value| {
        if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            references += 1;
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{at}: {reference} is not a local reference"));
            assert!(
                doc.pointer(pointer).is_some(),
                "{at}: {reference} does not resolve"
            );
        }
    });
    assert!(references > 50, "only {references} references found");

    // Duplicate keys are refused, not resolved by keeping the last.
    let dir = tempfile::tempdir().unwrap();
    let duplicate = dir.path().join("duplicate.yaml");
    std::fs::write(&duplicate, "responses:\n  \"409\": a\n  \"409\": b\n").unwrap();
    let error = yaml_file(&duplicate).expect_err("a duplicate key was accepted");
    assert!(error.contains("duplicate key"), "{error}");

    // A validation that could not run must not pass as one that did.
    let python = python_with("openapi_spec_validator").unwrap_or_else(|| {
        panic!(
            "openapi-spec-validator is not installed ({}): run scripts/test, which installs it \
             into target/python-tools, or `pip install openapi-spec-validator`",
            PYTHONS.join(", ")
        )
    });
    let output = Command::new(python)
        .args(["-c", VALIDATE])
        .arg(repo_file(OPENAPI))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refuses {OPENAPI}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The string values of `pub const NAME: &str = "value";` in the protocol's `codes` module.
fn protocol_codes() -> BTreeSet<String> {
    let path = repo_file(PROTOCOL_SOURCE);
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let start = source
        .find("pub mod codes {")
        .unwrap_or_else(|| panic!("{PROTOCOL_SOURCE} has no `pub mod codes`"));
    let body = &source[start..];
    let body = &body[..body.find("\n}").expect("`mod codes` does not end")];
    body.lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("pub const ")?;
            let value = line.split_once("= \"")?.1;
            Some(value.split_once('"')?.0.to_string())
        })
        .collect()
}

/// `ReasonCode` lists exactly the codes the protocol defines: a client generated from the
/// description must know every code the collector may send.
#[test]
fn the_reason_codes_are_the_protocols() {
    let codes = protocol_codes();
    assert!(
        codes.contains("bad_gzip") && codes.len() > 20,
        "read too few codes from {PROTOCOL_SOURCE}: {codes:?}"
    );
    let doc = document();
    let documented: BTreeSet<String> = doc
        .pointer("/components/schemas/ReasonCode/enum")
        .and_then(Value::as_array)
        .expect("components/schemas/ReasonCode has no enum")
        .iter()
        .map(|c| {
            c.as_str()
                .expect("a reason code that is not a string")
                .to_string()
        })
        .collect();
    let missing: Vec<&String> = codes.difference(&documented).collect();
    let unknown: Vec<&String> = documented.difference(&codes).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "ReasonCode in {OPENAPI} differs from the codes in {PROTOCOL_SOURCE}: not documented \
         {missing:?}; documented but not in the protocol {unknown:?}"
    );
}

fn schema_pattern(doc: &Value, name: &str) -> regex::Regex {
    let schema = doc
        .pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no components/schemas/{name}"));
    assert_eq!(schema["type"].as_str(), Some("string"), "{name}");
    let pattern = schema["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("components/schemas/{name} has no pattern"));
    assert!(
        pattern.starts_with('^') && pattern.ends_with('$'),
        "{name}: a JSON Schema pattern matches anywhere unless anchored: {pattern}"
    );
    regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{name}: {pattern}: {e}"))
}

/// Where the schemas use the id types: each of these properties refers to it.
fn assert_uses(doc: &Value, schema: &str, property: &str, type_name: &str) {
    let value = doc
        .pointer(&format!(
            "/components/schemas/{schema}/properties/{property}"
        ))
        .unwrap_or_else(|| panic!("{schema} has no property {property}"));
    let reference = format!("#/components/schemas/{type_name}");
    let uses = value["$ref"].as_str() == Some(reference.as_str())
        || value["oneOf"]
            .as_array()
            .is_some_and(|alts| alts.iter().any(|a| a["$ref"].as_str() == Some(&reference)))
        || value["items"]["$ref"].as_str() == Some(reference.as_str());
    assert!(
        uses,
        "{schema}.{property} must refer to {reference}: {value}"
    );
}

/// The id patterns accept exactly what the protocol's types accept, and the examples follow
/// them.
#[test]
fn the_id_patterns_are_the_protocols() {
    use earshot_protocol::{AlarmCode, DeviceId, SiteId};

    let doc = document();
    let device = schema_pattern(&doc, "DeviceId");
    let site = schema_pattern(&doc, "SiteId");
    let alarm = schema_pattern(&doc, "AlarmCode");

    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    let names = [
        "library-lobby-1",
        "central-library",
        "k",
        "0ne",
        "Pi4.local",
        "site_7",
        "A.B_C-D",
        "x-",
        long.as_str(),
        too_long.as_str(),
        "",
        "-x",
        ".x",
        "_x",
        "a b",
        " a",
        "a/b",
        "a:b",
        "a\n",
        "caf\u{e9}",
        "lobby\u{202e}1",
        "\u{ff21}B",
    ];
    for name in names {
        assert_eq!(
            device.is_match(name),
            DeviceId::parse(name).is_ok(),
            "DeviceId pattern and earshot_protocol::DeviceId disagree on {name:?}"
        );
        assert_eq!(
            site.is_match(name),
            SiteId::parse(name).is_ok(),
            "SiteId pattern and earshot_protocol::SiteId disagree on {name:?}"
        );
    }
    for code in [
        "storage-nearly-full",
        "upload-failing",
        "a",
        "a1",
        "x-",
        long.as_str(),
        too_long.as_str(),
        "",
        "1a",
        "A",
        "Upload-failing",
        "a_b",
        "a.b",
        "-a",
        "a b",
    ] {
        assert_eq!(
            alarm.is_match(code),
            AlarmCode::parse(code).is_ok(),
            "AlarmCode pattern and earshot_protocol::AlarmCode disagree on {code:?}"
        );
    }

    assert_uses(&doc, "EnrollRequest", "device_id", "DeviceId");
    assert_uses(&doc, "EnrollRequest", "site", "SiteId");
    assert_uses(&doc, "EnrollReply", "device_id", "DeviceId");
    assert_uses(&doc, "EnrollReply", "site", "SiteId");
    assert_uses(&doc, "ResponseRecord", "device_id", "DeviceId");
    assert_uses(&doc, "ResponseRecord", "site_id", "SiteId");
    assert_uses(&doc, "DeviceStatus", "alarms", "AlarmCode");

    // Every id in the examples is one the collector would take.
    let mut checked = 0;
    walk(&doc, String::new(), &mut |at, value| {
        let Some(map) = value.as_object() else { return };
        for (key, pattern) in [("device_id", &device), ("site_id", &site), ("site", &site)] {
            if let Some(id) = map.get(key).and_then(Value::as_str) {
                checked += 1;
                assert!(pattern.is_match(id), "{at}/{key}: {id:?} is not a valid id");
            }
        }
    });
    assert!(checked >= 4, "only {checked} ids found in the examples");
}
